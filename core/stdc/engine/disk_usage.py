"""The ``system df`` verb: what images, containers, local volumes and the build cache take, in the
shape of the Engine API's ``GET /system/df`` (``LayersSize``, ``Images``, ``Containers``, ``Volumes``,
``BuildCache``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stdc.engine.context import Engine


def disk_usage(engine: Engine) -> dict[str, Any]:
    """Every image (its size, the part it shares with other images, the containers using it),
    every container (its writable layer's size when the storage driver reports it) and every
    volume (its size and how many containers use it)."""
    from stdc.engine import pruning, volumes
    from stdc.engine.build import layer_cache

    records = [engine.refresh(c) for c in engine.state.all()]
    tagged = engine.store.list_images()
    by_id: dict[str, dict[str, Any]] = {}
    owners: dict[str, set[str]] = {}  # layer digest -> the ids of the images having it
    sizes: dict[str, int] = {}
    for ref, image in tagged + [(None, image) for image in engine.store.dangling()]:
        row = by_id.setdefault(
            image.id,
            {
                "Id": image.id,
                "RepoTags": [],
                "Created": int(image.created_ts or 0),
                "Size": image.size,
                "Containers": 0,
            },
        )
        if ref is not None:
            row["RepoTags"].append(str(ref))
        for layer in image.layers:
            owners.setdefault(layer.digest, set()).add(image.id)
            sizes[layer.digest] = layer.size
    for row in by_id.values():
        row["Containers"] = sum(1 for c in records if c.image_id == row["Id"])
    for digest, ids in owners.items():
        if len(ids) > 1:
            for image_id in ids:
                by_id[image_id]["SharedSize"] = by_id[image_id].get("SharedSize", 0) + sizes[digest]
    containers = [
        {
            "Id": c.id,
            "Names": [c.name],
            "Image": c.image,
            "ImageID": c.image_id,
            "Command": " ".join(c.config.get("args") or []),
            "Created": int(c.created),
            "State": c.status,
            "SizeRw": pruning.writable_size(engine, c),
        }
        for c in records
    ]
    volume_rows = []
    for name in engine.volumes.names():
        refs = len(volumes.users_of(records, name))
        volume_rows.append(
            {
                "Name": name,
                "Driver": "local",
                "UsageData": {"Size": pruning.volume_size(engine, name), "RefCount": refs},
            }
        )
    needed = sum(sizes[d] for d, ids in owners.items() if any(by_id[i]["Containers"] for i in ids))
    return {
        "LayersSize": sum(sizes.values()),
        "LayersReclaimable": sum(sizes.values()) - needed,  # stdc's: what image prune -a would free
        "Images": [{"SharedSize": 0, **row} for row in by_id.values()],
        "Containers": containers,
        "Volumes": volume_rows,
        "BuildCache": layer_cache.records(engine),
    }


def summary(usage: dict[str, Any]) -> list[dict[str, Any]]:
    """``system df``'s four rows (Images, Containers, Local Volumes, Build Cache): ``Type``,
    ``TotalCount``, ``Active``, ``Size`` and ``Reclaimable`` in bytes."""
    images, containers, volumes = usage["Images"], usage["Containers"], usage["Volumes"]
    active_images = [i for i in images if i["Containers"]]
    sizes = [c["SizeRw"] or 0 for c in containers]
    return [
        {
            "Type": "Images",
            "TotalCount": len(images),
            "Active": len(active_images),
            "Size": usage["LayersSize"],
            "Reclaimable": usage["LayersReclaimable"],
        },
        {
            "Type": "Containers",
            "TotalCount": len(containers),
            "Active": sum(1 for c in containers if c["State"] == "running"),
            "Size": sum(sizes),
            "Reclaimable": sum(s for s, c in zip(sizes, containers, strict=True) if c["State"] != "running"),
        },
        {
            "Type": "Local Volumes",
            "TotalCount": len(volumes),
            "Active": sum(1 for v in volumes if v["UsageData"]["RefCount"]),
            "Size": sum(v["UsageData"]["Size"] for v in volumes),
            "Reclaimable": sum(v["UsageData"]["Size"] for v in volumes if not v["UsageData"]["RefCount"]),
        },
        {
            "Type": "Build Cache",
            "TotalCount": len(usage.get("BuildCache") or []),
            "Active": 0,
            "Size": sum(b["Size"] for b in usage.get("BuildCache") or []),
            "Reclaimable": sum(b["Size"] for b in usage.get("BuildCache") or []),
        },
    ]
