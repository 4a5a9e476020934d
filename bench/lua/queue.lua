-- GET the first page of open tickets (what an agent's queue shows first).
-- env: TOKEN, BENCH_LUA_DIR.
dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")

wrk.method = "GET"
wrk.path = "/api/v1/tickets?status=open&limit=50"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")
