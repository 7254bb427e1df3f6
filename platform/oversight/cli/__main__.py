from oversight.cli import main

main()
