from stdc.daemon.client import main

main()
