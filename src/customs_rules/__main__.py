from .cli.base import main

main()
