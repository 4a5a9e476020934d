-- One ticket with its messages: alternately GET /api/v1/tickets/{id} and
-- /api/v1/tickets/{id}/messages for a random id in [ID_MIN, ID_MAX].
-- env: TOKEN, ID_MIN, ID_MAX, BENCH_LUA_DIR.
dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")

local id_min = tonumber(os.getenv("ID_MIN") or "1")
local id_max = tonumber(os.getenv("ID_MAX") or "1000")
local headers = {["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")}
local current = id_min
local second = true

function init(args)
   seed_thread()
end

function request()
   second = not second
   if second then
      return wrk.format("GET", "/api/v1/tickets/" .. current .. "/messages", headers)
   end
   current = math.random(id_min, id_max)
   return wrk.format("GET", "/api/v1/tickets/" .. current, headers)
end
