from bot.cli.main import main

if __name__ == "__main__":  # not when a drawing process (spawned) imports it as __mp_main__
    main()
