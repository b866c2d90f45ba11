from source_pendo.run import run

if __name__ == "__main__":
    run()
