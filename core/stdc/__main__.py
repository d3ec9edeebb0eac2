from stdc.cli import main

main()
