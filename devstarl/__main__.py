from devstarl.main import main

main()
