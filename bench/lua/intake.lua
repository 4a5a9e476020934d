-- POST /api/v1/tickets with varied bodies (subjects, descriptions, customers, urgencies,
-- some Chinese, some outage words, some known contacts and companies).
-- env: TOKEN (staff bearer token), CONTACTS (generated contacts, ids 1..CONTACTS),
--      ACCOUNTS (generated accounts), BENCH_LUA_DIR.
dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")

local token = os.getenv("TOKEN") or ""
local contacts = tonumber(os.getenv("CONTACTS") or "1000")
local accounts = tonumber(os.getenv("ACCOUNTS") or "25")
local domains = {"example.com", "example.net", "example.org", "mail.example.cn", "corp.example.io"}
local products = {"Router X1", "Router X2", "Switch S8", "Camera C3", "Cloud Drive",
                  "Mesh Pro", "NAS N4", "Smart Plug", "Gateway G7", "Mobile App"}
local categories = {"how-to", "account", "network", "feature", "other", "how-to", "account",
                    "billing", "bug", "shipping"}
local urgencies = {"low", "normal", "normal", "normal", "high", "urgent"}
local subjects_en = {"%s keeps rebooting", "Cannot log in to %s", "%s firmware update failed",
                     "Wrong amount on %s invoice", "How to reset %s?", "%s is very slow",
                     "%s not reachable from branch office", "Question about %s warranty"}
local subjects_zh = {"%s 自动重启", "无法登录 %s", "%s 固件升级失败", "%s 发票金额不对",
                     "如何重置 %s？", "%s 很慢", "分公司访问不了 %s", "%s 保修咨询"}
local bodies_en = {
   "Since the last update the device restarts on its own. We tried another cable.",
   "Our users cannot sign in since this morning; the page shows an unexpected error.",
   "We were charged twice for the annual plan. Please refund the duplicate payment.",
   "Throughput dropped to about 50 Mbit/s after the config change.",
   "Could you explain how to schedule automatic backups and retention?",
   "Production down: all users affected, the portal is unreachable.",
}
local bodies_zh = {
   "升级之后设备会自己重启，换了电源和网线都没有用。",
   "今天早上开始用户都登录不了，输入密码之后页面报错。",
   "年费被扣了两次，麻烦退回重复的款项。",
   "修改配置之后速度掉到 50M 左右。",
   "请问自动备份怎么设置？",
   "系统宕机，所有用户都无法访问。",
}
local first = {"Li", "Wang", "Anna", "Ben", "Carla", "David", "Emma", "Hiro", "Zhang", "Chen"}
local last = {"Wei", "Smith", "Brown", "Garcia", "Tanaka", "Fang", "Rossi", "Silva"}
local headers = {["Content-Type"] = "application/json",
                 ["Authorization"] = "Bearer " .. token}
local sequence = 0

function init(args)
   seed_thread()
end

function request()
   sequence = sequence + 1
   local zh = math.random() < 0.35
   local product = pick(products)
   local subject = string.format(pick(zh and subjects_zh or subjects_en), product)
   local body = pick(zh and bodies_zh or bodies_en) .. " (" .. product .. ", ref " ..
                thread_id .. "-" .. sequence .. ")"
   local email, name
   local r = math.random()
   if r < 0.75 then        -- a known customer
      local i = math.random(contacts)
      email = string.format("customer%d@%s", i, domains[i % #domains + 1])
   else                    -- a first contact
      email = string.format("new-%d-%d-%d@bench-new.example", thread_id, sequence,
                            math.random(1e9))
      name = pick(first) .. " " .. pick(last)
   end
   local customer = '{"email": ' .. json_string(email)
   if name then customer = customer .. ', "name": ' .. json_string(name) end
   if math.random() < 0.1 then
      customer = customer .. string.format(', "company": "Account %05d Ltd"', math.random(accounts))
   end
   customer = customer .. "}"
   local parts = {'"subject": ' .. json_string(subject),
                  '"description": ' .. json_string(body),
                  '"customer": ' .. customer,
                  '"language": "' .. (zh and "zh" or "en") .. '"',
                  '"product": ' .. json_string(product)}
   if math.random() < 0.8 then parts[#parts + 1] = '"urgency": "' .. pick(urgencies) .. '"' end
   if math.random() < 0.7 then parts[#parts + 1] = '"category": "' .. pick(categories) .. '"' end
   if math.random() < 0.2 then parts[#parts + 1] = '"tags": ["bench", "wifi"]' end
   return wrk.format("POST", "/api/v1/tickets", headers, "{" .. table.concat(parts, ", ") .. "}")
end
