-- Reference app: POST /items, one row per request, varied bodies.
dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")

local subjects = {"Router keeps rebooting", "Cannot log in", "无法登录管理后台",
                  "Invoice shows wrong amount", "固件升级失败", "Slow since yesterday"}
local bodies = {"Since the last update the device restarts on its own.",
                "今天早上开始用户都登录不了，输入密码之后页面报错。",
                "We were charged twice for the annual plan."}
local headers = {["Content-Type"] = "application/json"}
local sequence = 0

function init(args)
   seed_thread()
end

function request()
   sequence = sequence + 1
   local body = '{"subject": ' .. json_string(pick(subjects)) ..
                ', "body": ' .. json_string(pick(bodies) .. " #" .. sequence) ..
                ', "email": ' .. json_string(string.format("customer%d@example.com",
                                                            math.random(200000))) .. '}'
   return wrk.format("POST", "/items", headers, body)
end
