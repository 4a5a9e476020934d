-- Reference app: GET /items, the 50 newest rows.
dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")

wrk.method = "GET"
wrk.path = "/items"
