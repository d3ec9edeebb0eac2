from stdc.client import main

main()
