from apilogs.cli import main

main()
