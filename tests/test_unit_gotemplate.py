"""Unit tests for :mod:`stdc.cli.gotemplate`, docker's ``--format`` (Go text/template) subset.

Every ``--format`` example of docker's reference pages (the formatting guide, ``ps``, ``images``,
``inspect``) is rendered against a sample document; the expected text was written by hand from Go's
text/template, fmt and encoding/json semantics and docker's cli/templates and formatter packages
(tables: ``tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)``). Pure functions, no containers.
"""

from __future__ import annotations

import math

import pytest
from stdc.cli.gotemplate import GoMap, GoStruct, TemplateError, align_columns, parse, render, render_rows
from stdc.errors import StdcError

# A container as `docker inspect` shows it (trimmed): structs with every field, maps by name.
CONTAINER = {
    "Id": "50522a9679f4be5aeb958fa74b9b3ad3522cafc896fe303836a52ed216dd9a8c",
    "Name": "/my_Nginx",
    "Args": ["-g", "daemon off;"],
    "Image": "sha256:ad2f83b09745",
    "LogPath": "/var/lib/docker/containers/50522a9679f4/50522a9679f4-json.log",
    "State": {"Status": "running", "Running": True, "Pid": 4242, "ExitCode": 0, "Health": None},
    "Config": {
        "Image": "nginx:1.25",
        "Env": ["PATH=/usr/bin", "NGINX_VERSION=1.25.3"],
        "Labels": {"com.example.version": "1.0", "maintainer": "NGINX <docker-maint@nginx.com>"},
    },
    "Mounts": [
        {"Type": "bind", "Source": "/srv/www", "Destination": "/usr/share/nginx/html", "RW": False},
        {"Type": "volume", "Source": "/var/lib/docker/volumes/logs/_data", "Destination": "/logs", "RW": True},
    ],
    "NetworkSettings": {
        "Ports": {
            "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}],
            "8787/tcp": [{"HostIp": "0.0.0.0", "HostPort": "49153"}, {"HostIp": "::", "HostPort": "49154"}],
        },
        "Networks": {
            "bridge": {"IPAddress": "172.17.0.2", "MacAddress": "02:42:ac:11:00:02"},
            "backend": {"IPAddress": "172.19.0.5", "MacAddress": "02:42:ac:13:00:05"},
        },
    },
}


def run(template: str, data: object = CONTAINER, **kw: object) -> str:
    return render(template, data, **kw)  # type: ignore[arg-type]


# --- docker's formatting guide (docs.docker.com/engine/cli/formatting) -------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ('{{join .Args " , "}}', "-g , daemon off;"),
        (
            "{{json .Mounts}}",
            '[{"Type":"bind","Source":"/srv/www","Destination":"/usr/share/nginx/html","RW":false},'
            '{"Type":"volume","Source":"/var/lib/docker/volumes/logs/_data","Destination":"/logs","RW":true}]',
        ),
        ("{{lower .Name}}", "/my_nginx"),
        ('{{split .Config.Image ":"}}', "[nginx 1.25]"),
        ("{{title .Name}}", "/My_Nginx"),
        ("{{upper .Name}}", "/MY_NGINX"),
        ("{{range .NetworkSettings.Networks}}{{println .IPAddress}}{{end}}", "172.19.0.5\n172.17.0.2\n"),
        ('{{split (join .Args "/") "/"}}', "[-g daemon off;]"),
        ("{{pad .Config.Image 2 1}}|", "  nginx:1.25 |"),
        ('{{pad "" 2 1}}|', "|"),
        ("{{truncate .Id 12}}", "50522a9679f4"),
        ('{{truncate "short" 12}}', "short"),
    ],
)
def test_formatting_guide_functions(template: str, expected: str) -> None:
    assert run(template) == expected


def test_formatting_guide_table() -> None:
    images = [
        {"ID": "4dd97cefde62", "Repository": "ubuntu", "Tag": "latest", "Size": "72.9MB"},
        {"ID": "28f6e2705743", "Repository": "alpine", "Tag": "3.19", "Size": "5.61MB"},
    ]
    out = render_rows("table {{.ID}}\\t{{.Repository}}\\t{{.Tag}}\\t{{.Size}}", images, titles={"ID": "IMAGE ID"})
    assert out == (
        "IMAGE ID       REPOSITORY   TAG       SIZE\n"
        "4dd97cefde62   ubuntu       latest    72.9MB\n"
        "28f6e2705743   alpine       3.19      5.61MB\n"
    )


# --- docker inspect's examples -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", "172.19.0.5172.17.0.2"),
        ("{{range .NetworkSettings.Networks}}{{.MacAddress}}{{end}}", "02:42:ac:13:00:0502:42:ac:11:00:02"),
        ("{{.LogPath}}", "/var/lib/docker/containers/50522a9679f4/50522a9679f4-json.log"),
        ("{{.Config.Image}}", "nginx:1.25"),
        (
            "{{range $p, $conf := .NetworkSettings.Ports}} {{$p}} -> {{(index $conf 0).HostPort}} {{end}}",
            " 80/tcp -> 8080  8787/tcp -> 49153 ",
        ),
        ('{{(index (index .NetworkSettings.Ports "8787/tcp") 0).HostPort}}', "49153"),
        (
            "{{json .Config}}",
            '{"Image":"nginx:1.25","Env":["PATH=/usr/bin","NGINX_VERSION=1.25.3"],'
            '"Labels":{"com.example.version":"1.0","maintainer":"NGINX <docker-maint@nginx.com>"}}',
        ),
        ("{{.State.Status}}", "running"),
        ("{{.State.Running}} {{.State.Pid}} {{.State.ExitCode}}", "true 4242 0"),
        ('{{index .Config.Labels "com.example.version"}}', "1.0"),
        ('{{index .Config.Labels "absent"}}|', "|"),
        ("{{.Config.Labels.maintainer}}", "NGINX <docker-maint@nginx.com>"),
        ("{{.Config.Labels.absent}}", "<no value>"),
        (
            "{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}",
            "/srv/www:/usr/share/nginx/html /var/lib/docker/volumes/logs/_data:/logs ",
        ),
        ("{{range .Mounts}}{{if .RW}}{{.Destination}}{{end}}{{end}}", "/logs"),
        ("{{json .Config.Labels}}", '{"com.example.version":"1.0","maintainer":"NGINX <docker-maint@nginx.com>"}'),
        ("{{.State}}", "{running true 4242 0 <nil>}"),
        ("{{.Config.Env}}", "[PATH=/usr/bin NGINX_VERSION=1.25.3]"),
        ("{{.Config.Labels}}", "map[com.example.version:1.0 maintainer:NGINX <docker-maint@nginx.com>]"),
        (
            "{{.Mounts}}",
            "[{bind /srv/www /usr/share/nginx/html false} {volume /var/lib/docker/volumes/logs/_data /logs true}]",
        ),
        ("{{len .Mounts}} {{len .Config.Labels}} {{len .Name}}", "2 2 9"),
        ("{{if .State.Health}}{{.State.Health.Status}}{{else}}no healthcheck{{end}}", "no healthcheck"),
        ("{{with .State.Health}}{{.Status}}{{else}}none{{end}}", "none"),
        ("{{and .State.Health .State.Health.Status}}", "<nil>"),
    ],
)
def test_inspect_examples(template: str, expected: str) -> None:
    assert run(template) == expected


# --- docker ps / images listings ---------------------------------------------------------------------

LABELS = {"com.docker.swarm.node": "ubuntu", "com.docker.swarm.cpu": "6"}
PS = [
    {
        "ID": "a87ecb4f327c",
        "Command": '"/bin/sh -c #(nop) MA…"',
        "Labels": "com.docker.swarm.node=ubuntu,com.docker.swarm.storage=ssd",
        "Label": lambda name: LABELS.get(name, ""),
        "Mounts": "remote-volume",
        "IPAddresses": ["bridge/172.17.0.3"],
        "Names": "boring_keldysh",
        "Status": "Up 3 seconds",
    },
    {
        "ID": "01946d9d34d8",
        "Command": '"top"',
        "Labels": "",
        "Label": lambda name: "",
        "Mounts": "",
        "IPAddresses": ["bridge/172.17.0.2", "mynetwork/172.19.0.2"],
        "Names": "<hidden>",
        "Status": "Exited (0) 2 weeks ago",
    },
]
PS_TITLES = {"ID": "CONTAINER ID"}


def test_ps_plain_format() -> None:
    out = render_rows("{{.ID}}: {{.Command}}", PS)
    assert out == 'a87ecb4f327c: "/bin/sh -c #(nop) MA…"\n01946d9d34d8: "top"\n'


def test_ps_table_labels() -> None:
    out = render_rows("table {{.ID}}\\t{{.Labels}}", PS, titles=PS_TITLES)
    assert out == (
        "CONTAINER ID   LABELS\n"
        "a87ecb4f327c   com.docker.swarm.node=ubuntu,com.docker.swarm.storage=ssd\n"
        "01946d9d34d8   \n"
    )


def test_ps_table_join_ip_addresses() -> None:
    out = render_rows('table {{.ID}}\\t{{join .IPAddresses ", "}}', PS, titles=PS_TITLES)
    assert out == (
        "CONTAINER ID   IP ADDRESSES\n"
        "a87ecb4f327c   bridge/172.17.0.3\n"
        "01946d9d34d8   bridge/172.17.0.2, mynetwork/172.19.0.2\n"
    )


def test_ps_label_method() -> None:
    assert render_rows('{{.Label "com.docker.swarm.cpu"}}', PS) == "6\n\n"
    out = render_rows('table {{.ID}}\\t{{(.Label "com.docker.swarm.node")}}', PS, titles=PS_TITLES)
    assert out == "CONTAINER ID   LABEL\na87ecb4f327c   ubuntu\n01946d9d34d8   \n"


def test_ps_table_mounts_and_names() -> None:
    out = render_rows("table {{.ID}}\\t{{.Mounts}}\\t{{.Names}}", PS, titles=PS_TITLES)
    assert out == (
        "CONTAINER ID   MOUNTS          NAMES\n"
        "a87ecb4f327c   remote-volume   boring_keldysh\n"
        "01946d9d34d8                   <hidden>\n"
    )


def test_ps_json_directive_sorts_keys_and_escapes_html() -> None:
    rows = [{"Names": "boring_keldysh", "ID": "a762a2b37a1d", "Labels": "maintainer=NGINX <m@nginx.com>"}]
    assert render_rows("json", rows) == (
        '{"ID":"a762a2b37a1d","Labels":"maintainer=NGINX \\u003cm@nginx.com\\u003e","Names":"boring_keldysh"}\n'
    )
    assert render_rows("{{json .}}", rows) == render_rows("json", rows)


def test_images_examples() -> None:
    images = [
        {"ID": "77af4d6b9913", "Repository": "<none>", "Tag": "<none>"},
        {"ID": "b6fa739cedf5", "Repository": "committ", "Tag": "latest"},
        {"ID": "746b819f315e", "Repository": "postgres", "Tag": "9.3.5"},
    ]
    assert render_rows("{{.ID}}: {{.Repository}}", images) == (
        "77af4d6b9913: <none>\nb6fa739cedf5: committ\n746b819f315e: postgres\n"
    )
    out = render_rows("table {{.ID}}\\t{{.Repository}}\\t{{.Tag}}", images, titles={"ID": "IMAGE ID"})
    assert out == (
        "IMAGE ID       REPOSITORY   TAG\n"
        "77af4d6b9913   <none>       <none>\n"
        "b6fa739cedf5   committ      latest\n"
        "746b819f315e   postgres     9.3.5\n"
    )


def test_table_header_titles() -> None:
    template = parse("{{.ID}}\t{{.CreatedAt}}\t{{lower .Names}}\t{{pad .Size 1 1}}\t{{json .State.Status}}")
    assert template.header() == "ID\tCREATED AT\tNAMES\t SIZE \tSTATUS"
    assert template.header({"ID": "NETWORK ID", "State.Status": "STATE"}) == (
        "NETWORK ID\tCREATED AT\tNAMES\t SIZE \tSTATE"
    )


def test_table_without_rows_prints_the_header() -> None:
    assert render_rows("table {{.ID}}\\t{{.Names}}", [], titles=PS_TITLES) == "CONTAINER ID   NAMES\n"


def test_table_header_error_stops_the_header_only() -> None:
    rows = [{"ID": "abc", "Mounts": ["a", "b"]}]
    out = render_rows("table {{.ID}}\\t{{range .Mounts}}{{.}},{{end}}", rows)
    assert out == "ID        \nabc       a,b,\n"


def test_plain_listing_turns_typed_escapes_into_tabs_and_newlines() -> None:
    assert render_rows("{{.ID}}\\t{{.Names}}\\n--", PS[:1]) == "a87ecb4f327c\tboring_keldysh\n--\n"


def test_other_listings_and_documents() -> None:
    networks = [
        {"ID": "7fca4eb8c647", "Name": "bridge", "Driver": "bridge", "Scope": "local"},
        {"ID": "9f904ee27bf5", "Name": "none", "Driver": "null", "Scope": "local"},
    ]
    assert render_rows("{{.ID}}: {{.Driver}}", networks) == "7fca4eb8c647: bridge\n9f904ee27bf5: null\n"
    assert render_rows("table {{.ID}}\\t{{.Name}}\\t{{.Driver}}", networks, titles={"ID": "NETWORK ID"}) == (
        "NETWORK ID     NAME      DRIVER\n7fca4eb8c647   bridge    bridge\n9f904ee27bf5   none      null\n"
    )
    volumes = [{"Driver": "local", "Name": "logs", "Mountpoint": "/var/lib/stdc/volumes/logs/_data"}]
    assert render_rows("table {{.Name}}\\t{{.Driver}}", volumes, titles={"Name": "VOLUME NAME"}) == (
        "VOLUME NAME   DRIVER\nlogs          local\n"
    )
    assert render("{{ .Mountpoint }}", volumes[0]) == "/var/lib/stdc/volumes/logs/_data"
    network = {"IPAM": {"Driver": "default", "Config": [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]}}
    assert (
        render("{{range .IPAM.Config}}{{.Subnet}} via {{.Gateway}}{{end}}", network) == "172.17.0.0/16 via 172.17.0.1"
    )
    version = {"Client": {"Version": "1.0.0"}, "Server": {"Version": "1.0.0", "APIVersion": "1.43"}}
    assert render("{{.Server.Version}} (API {{.Server.APIVersion}})", version) == "1.0.0 (API 1.43)"
    stats = [{"Container": "web", "CPUPerc": "0.07%", "MemUsage": "2.5MiB / 1.9GiB"}]
    assert render_rows("table {{.Container}}\\t{{.CPUPerc}}\\t{{.MemUsage}}", stats, titles={"CPUPerc": "CPU %"}) == (
        "CONTAINER   CPU %     MEM USAGE\nweb         0.07%     2.5MiB / 1.9GiB\n"
    )


# --- tabwriter ---------------------------------------------------------------------------------------


def test_align_columns_blocks_like_tabwriter() -> None:
    text = "a\tb\tc\naaaa\tbbbbbbbbbbbbb\nx\ny\tz\n"
    assert align_columns(text) == "a         b         c\naaaa      bbbbbbbbbbbbb\nx\ny         z\n"


def test_align_columns_counts_wide_characters_twice() -> None:
    assert align_columns("日本\tx\nab\ty\n") == "日本      x\nab        y\n"


def test_align_columns_widest_cell_plus_padding() -> None:
    assert align_columns("0123456789AB\t1\nc\t2", minwidth=0, padding=1) == "0123456789AB 1\nc            2"


# --- Go's text/template semantics --------------------------------------------------------------------

DATA = {
    "Name": "web",
    "List": ["a", "b", "c"],
    "Empty": [],
    "Nil": None,
    "Map": GoMap({"b": 2, "a": 1, "c": 3}),
    "Matrix": [[1, 2], [3, 4]],
    "Float": 2.5,
    "Size": lambda: "1kB",
    "Greet": lambda who, punct="!": f"hello {who}{punct}",
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        # text, trim markers and comments
        ("plain text", "plain text"),
        ("a  {{- .Name -}}  b", "awebb"),
        ("a\n\t{{- .Name}}\n", "aweb\n"),
        ("{{.Name -}}\n  \n  x", "webx"),
        ("{{-3}}", "-3"),
        ("a{{/* a comment */}}b", "ab"),
        ("a {{- /* multi\nline */ -}} b", "ab"),
        ("{{.Name}}}}", "web}}"),
        # operands and literals
        ("{{.List}} {{.Empty}} {{.Nil}} {{.Map}} {{.Matrix}}", "[a b c] [] <nil> map[a:1 b:2 c:3] [[1 2] [3 4]]"),
        ("{{$.Name}}", "web"),
        ('{{"a\\tb\\u00e9\\x41\\101\\"\\\\"}}', 'a\tbéAA"\\'),
        ("{{`raw \\n {{x}}`}}", "raw \\n {{x}}"),
        ("{{'a'}} {{'\\n'}}", "97 10"),
        ("{{0x1F}} {{0o17}} {{017}} {{0b101}} {{1_000}} {{+7}}", "31 15 15 5 1000 7"),
        (
            "{{1.5}} {{3.0}} {{1e6}} {{123456.0}} {{0.0001}} {{0.00001}} {{1e21}} {{-2.5}}",
            "1.5 3 1e+06 123456 0.0001 1e-05 1e+21 -2.5",
        ),
        ("{{true}} {{false}}", "true false"),
        ("{{.Float}}", "2.5"),
        ("{{.Size}}", "1kB"),
        ('{{.Greet "you"}} {{.Greet "you" "?"}}', "hello you! hello you?"),
        ('{{"you" | .Greet}}', "hello you!"),
        # pipelines and parentheses
        ('{{.Name | printf "%q"}}', '"web"'),
        ('{{"abc" | upper | printf "%s!"}}', "ABC!"),
        ("{{(len .List)}}", "3"),
        ("{{index .Matrix 1 0}}", "3"),
        ("{{len (index .Matrix 0)}}", "2"),
        # variables
        ("{{$n := len .List}}{{$n}}", "3"),
        ("{{$x := 1}}{{$x = 2}}{{$x}}", "2"),
        ('{{$s := ""}}{{range .List}}{{$s = .}}{{end}}{{$s}}', "c"),
        ("{{$m := .Map}}{{$m.b}}", "2"),
        # if / else if / with
        ("{{if .Empty}}x{{else if .List}}list{{else}}y{{end}}", "list"),
        ("{{if .Nil}}x{{else if .Empty}}y{{else}}z{{end}}", "z"),
        ("{{if $n := len .List}}{{$n}} items{{end}}", "3 items"),
        ("{{with .Map}}{{.a}}{{end}}", "1"),
        ("{{with .Nil}}x{{else with .Name}}{{.}}{{end}}", "web"),
        ("{{with $x := .Name}}{{$x}}{{.}}{{end}}", "webweb"),
        # range
        ("{{range .List}}{{.}}{{end}}", "abc"),
        ("{{range $e := .List}}<{{$e}}>{{end}}", "<a><b><c>"),
        ("{{range $i, $e := .List}}{{if $i}}, {{end}}{{$i}}={{$e}}{{end}}", "0=a, 1=b, 2=c"),
        ("{{range $k, $v := .Map}}{{$k}}{{$v}}{{end}}", "a1b2c3"),
        ("{{range .Map}}{{.}}{{end}}", "123"),
        ("{{range .Empty}}x{{else}}none{{end}}", "none"),
        ("{{range .Nil}}x{{else}}nil{{end}}", "nil"),
        ("{{range 3}}{{.}}{{end}}", "012"),
        ("{{range .List}}{{$.Name}}:{{.}} {{end}}", "web:a web:b web:c "),
        ('{{range .List}}{{if eq . "b"}}{{break}}{{end}}{{.}}{{end}}', "a"),
        ('{{range .List}}{{if eq . "b"}}{{continue}}{{end}}{{.}}{{end}}', "ac"),
        ("{{range .Matrix}}[{{range .}}{{.}}{{end}}]{{end}}", "[12][34]"),
        ("{{range $r := .Matrix}}{{range $c := $r}}{{$c}}{{end}};{{end}}", "12;34;"),
        ("{{$i := 9}}{{$e := 8}}{{range $i, $e = .List}}{{end}}{{$i}}{{$e}}", "2c"),
        # docker's string functions on non-ASCII text, rune by rune as Go
        ('{{title "élan vital_x o\'neil"}}', "Élan Vital_x O'Neil"),
        ('{{upper "straße"}} {{lower "ÀB"}}', "STRAßE àb"),
        ('{{split "abc" ""}} {{split "" ","}} {{len (split "" ",")}}', "[a b c] [] 1"),
        # logic and comparison
        ('{{and 1 "x"}} {{and 0 "x"}} {{or "" "y"}} {{or 0 ""}}|', "x 0 y |"),
        ("{{not .Empty}} {{not .List}} {{not .Nil}}", "true false true"),
        ('{{eq 1 2 3 1}} {{eq .Name "web"}} {{ne 1 2}} {{eq .Float 2.5}}', "true true true true"),
        ('{{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1.5 2.5}}', "true true true false"),
        ("{{eq .Nil .Nil}}", "true"),
        # len, index, slice on bytes as Go
        ('{{len "héllo"}} {{index "abc" 1}}', "6 98"),
        ('{{slice .List 1}} {{slice .List 1 2}} {{slice "abcdef" 2 4}} {{slice "abc"}}', "[b c] [b] cd abc"),
        ('{{truncate "héllo" 2}}', "h\ufffd"),
        # print family
        ('{{print 1 2 "a" 3 "b" "c"}}', "1 2a3bc"),
        ('{{println "a" 1}}', "a 1\n"),
        ("{{print .Nil}} {{print .Map.zzz}}", "<nil> <nil>"),
        ("{{html \"<a href='x'>&</a>\"}}", "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"),
        ('{{js "it\'s <b>"}}', "it\\'s \\u003Cb\\u003E"),
        ('{{urlquery "a b&c"}}', "a+b%26c"),
    ],
)
def test_go_semantics(template: str, expected: str) -> None:
    assert run(template, DATA) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ('{{printf "%s-%d" "a" 5}}', "a-5"),
        ('{{printf "%5s|%-5s|" "ab" "cd"}}', "   ab|cd   |"),
        ('{{printf "%05d|%+d|%d" -42 5 -3}}', "-0042|+5|-3"),
        ('{{printf "%x %X %o %b %#x %O" 255 255 8 5 255 8}}', "ff FF 10 101 0xff 0o10"),
        ('{{printf "%x" "hi"}}', "6869"),
        ('{{printf "%q" "a\\"b\\n"}}', '"a\\"b\\n"'),
        ("{{printf \"%q\" 'x'}}", "'x'"),
        ('{{printf "%.2f|%6.2f|%e|%g|%g" 3.14159 3.14159 1234.5678 0.5 1e6}}', "3.14|  3.14|1.234568e+03|0.5|1e+06"),
        ('{{printf "%t %v" true false}}', "true false"),
        ('{{printf "%c|%U" 65 65}}', "A|U+0041"),
        ('{{printf "%.3s" "abcdef"}}', "abc"),
        ('{{printf "%v|%s|%d" .List .List .Matrix}}', "[a b c]|[a b c]|[[1 2] [3 4]]"),
        ('{{printf "%v %+v" .Map .Map}}', "map[a:1 b:2 c:3] map[a:1 b:2 c:3]"),
        ('{{printf "%+v" .S}}', "{Name:x N:1}"),
        ('{{printf "%*d|" 4 7}}', "   7|"),
        ('{{printf "%%|%d" 1}}', "%|1"),
        ('{{printf "%d" "x"}}', "%!d(string=x)"),
        ('{{printf "%s" 5}}', "%!s(int=5)"),
        ('{{printf "%d %d" 1}}', "1 %!d(MISSING)"),
        ('{{printf "%d" 1 "two"}}', "1%!(EXTRA string=two)"),
        ('{{printf "%s|%v" .Nil nil}}', "%!s(<nil>)|<nil>"),
        ('{{printf "%s" .Map.zzz}}', "%!s(<nil>)"),
        ('{{printf "%z" 1}}', "%!z(int=1)"),
        ('{{printf "%f" 1}}', "%!f(int=1)"),
    ],
)
def test_printf(template: str, expected: str) -> None:
    assert run(template, {**DATA, "S": {"Name": "x", "N": 1}}) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            {"B": 1, "A": [1.5, 1e21, 1e-7, 2.0, 100.0, 1e20, -0.0]},
            '{"B":1,"A":[1.5,1e+21,1e-7,2,100,100000000000000000000,-0]}',
        ),
        (GoMap({"b": None, "a": True}), '{"a":true,"b":null}'),
        ("é\n\t\u2028<&>\x01", '"é\\n\\t\\u2028<&>\\u0001"'),
        ([], "[]"),
        (None, "null"),
    ],
)
def test_json(value: object, expected: str) -> None:
    assert run("{{json .}}", value) == expected


def test_dict_kinds() -> None:
    assert run("{{.}}", GoStruct({"b": 1, "a": 2})) == "{1 2}"
    assert run("{{.}}", GoMap({"B": 1, "A": 2})) == "map[A:2 B:1]"
    assert run("{{.}}", {"lower": 1, "Upper": 2}) == "map[Upper:2 lower:1]"
    assert run("{{.Nope}}", GoMap({"A": 1})) == "<no value>"
    assert run("{{.Nope.Deeper}}", GoMap({"A": 1})) == "<no value>"
    with pytest.raises(TemplateError, match="can't evaluate field nope"):
        run("{{.nope}}", GoStruct({"a": 1}))


def test_index_zero_values_by_element_type() -> None:
    assert run('{{index . "x"}}', GoMap({"a": 1})) == "0"
    assert run('{{index . "x"}}', GoMap({"a": [1]})) == "[]"
    assert run('{{index . "x"}}', GoMap({"a": {"B": 1}})) == "<nil>"
    assert run('{{index . "x"}}|', GoMap({})) == "|"


def test_custom_functions_and_parse_once() -> None:
    template = parse(
        '{{shout .Name}} {{.Name | wrap "[" "]"}}', funcs={"shout": str.upper, "wrap": lambda a, b, s: a + s + b}
    )
    assert template.execute({"Name": "a"}) == "A [a]"
    assert template.execute({"Name": "b"}) == "B [b]"


def test_template_error_is_a_one_line_stdc_error_with_exit_125() -> None:
    with pytest.raises(TemplateError) as err:
        run("{{.Nope}}")
    assert isinstance(err.value, StdcError)
    assert err.value.exit_code == 125
    assert "\n" not in str(err.value)


# --- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{foo}}", 'template: :1: function "foo" not defined'),
        ("{{.Name", "template: :1: unclosed action"),
        ("a\n{{end}}", "template: :2: unexpected {{end}}"),
        ("{{else}}", "template: :1: unexpected {{else}}"),
        ("{{if .Name}}x", "template: :1: unexpected EOF"),
        ("{{if .Name}}x{{else}}y{{else}}z{{end}}", "template: :1: unexpected {{else}}"),
        ("{{$x}}", 'template: :1: undefined variable "$x"'),
        ("{{if true}}{{$x := 1}}{{end}}{{$x}}", 'template: :1: undefined variable "$x"'),
        ("{{$x = 1}}", 'template: :1: undefined variable "$x"'),
        ("{{break}}", "template: :1: {{break}} outside {{range}}"),
        ('{{template "x"}}', "template: :1: {{template}} is not supported"),
        ('{{define "x"}}{{end}}', "template: :1: {{define}} is not supported"),
        ("{{.Name | 3}}", "template: :1: non executable command in pipeline stage 2"),
        ("{{nil}}", "template: :1: nil is not a command"),
        ('{{"abc}}', "template: :1: unterminated quoted string"),
        ("{{/* x }}", "template: :1: unclosed comment"),
        ("{{/* x */ .Name}}", "template: :1: comment ends before closing delimiter"),
        ("{{}}", "template: :1: missing value for command"),
        ("{{if}}{{end}}", "template: :1: missing value for if"),
        ("{{1x}}", 'template: :1: bad number syntax: "1x"'),
        ('{{"\\q"}}', "template: :1: invalid syntax"),
        ("{{(len .Name}}", "template: :1: unclosed left paren"),
        ("{{if $a, $b := .Name}}{{end}}", "template: :1: too many declarations in if"),
        ("{{.Name}}\n\n{{ nope }}", 'template: :3: function "nope" not defined'),
        ("{{ | .Name}}", "template: :1: empty command"),
        ("{{" + "(" * 1500 + "1" + ")" * 1500 + "}}", "template: :1: nested too deeply"),
    ],
)
def test_parse_errors(template: str, message: str) -> None:
    with pytest.raises(TemplateError) as err:
        parse(template)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{.Nope}}", 'template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type struct'),
        (
            "{{.State.Health.Status}}",
            'template: :1:2: executing "" at <.State.Health.Status>: nil pointer evaluating interface {}.Status',
        ),
        ("x\n  {{.Name.Sub}}", 'template: :2:4: executing "" at <.Name.Sub>: can\'t evaluate field Sub in type string'),
        ("{{upper 3}}", 'template: :1:2: executing "" at <upper 3>: wrong type for value; expected string; got int'),
        (
            '{{join .Config.Labels ","}}',
            'template: :1:2: executing "" at <join .Config.Labels ",">: wrong type '
            "for value; expected []string; got map[string]interface {}",
        ),
        (
            "{{pad .Name 1.5 0}}",
            'template: :1:2: executing "" at <pad .Name 1.5 0>: wrong type for value; expected int; got float64',
        ),
        (
            "{{index .Args 5}}",
            'template: :1:2: executing "" at <index .Args 5>: error calling index: index out of range: 5',
        ),
        (
            '{{eq 1 "a"}}',
            'template: :1:2: executing "" at <eq 1 "a">: error calling eq: incompatible types for comparison',
        ),
        (
            "{{eq .State.Pid 4242.0}}",
            'template: :1:2: executing "" at <eq .State.Pid 4242.0>: error calling eq: '
            "incompatible types for comparison",
        ),
        (
            "{{eq .Args .Args}}",
            'template: :1:2: executing "" at <eq .Args .Args>: error calling eq: non-comparable type',
        ),
        (
            "{{lt .Args 1}}",
            'template: :1:2: executing "" at <lt .Args 1>: error calling lt: invalid type for comparison',
        ),
        ("{{len 3}}", 'template: :1:2: executing "" at <len 3>: error calling len: len of type int'),
        ("{{len}}", 'template: :1:2: executing "" at <len>: wrong number of args for len: want 1 got 0'),
        (
            "{{printf}}",
            'template: :1:2: executing "" at <printf>: wrong number of args for printf: want at least 1 got 0',
        ),
        (
            "{{.Name 1}}",
            'template: :1:2: executing "" at <.Name>: Name has arguments but cannot be invoked as function',
        ),
        ("{{3 1}}", 'template: :1:2: executing "" at <3>: can\'t give argument to non-function 3'),
        ("{{range .Name}}{{end}}", 'template: :1:8: executing "" at <.Name>: range can\'t iterate over /my_Nginx'),
        ("{{range $i, $e := 3}}{{end}}", "can't use 2 variables when ranging over an integer"),
        ("{{index .State 0}}", "error calling index: can't index item of type struct"),
        ("{{slice .Args 2 1}}", "error calling slice: index out of range: 2"),
    ],
)
def test_exec_errors(template: str, message: str) -> None:
    with pytest.raises(TemplateError) as err:
        run(template)
    assert message in str(err.value)


def test_function_errors_become_template_errors() -> None:
    def boom() -> str:
        raise RuntimeError("boom")

    with pytest.raises(TemplateError, match=r"at <boom>: error calling boom: boom$"):
        render("{{boom}}", {}, funcs={"boom": boom})
    with pytest.raises(TemplateError, match="wrong number of args for twice: want 1 got 2"):
        render("{{twice 1 2}}", {}, funcs={"twice": lambda x: x * 2})
    with pytest.raises(TemplateError, match="json: unsupported value: NaN"):
        render("{{json .}}", math.nan)
