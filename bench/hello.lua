dofile(os.getenv("BENCH_DIR") .. "/common.lua")
