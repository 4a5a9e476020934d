-- Shared by every bench script: per-thread seeding and a machine-readable summary.
-- Load with: dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")

local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("thread_id", counter)
end

function seed_thread()
   math.randomseed(os.time() * 1000 + (thread_id or 0) * 7919)
   for _ = 1, 10 do math.random() end
end

-- JSON string escaping for the few characters our pools could contain.
function json_string(s)
   return '"' .. s:gsub('[%c"\\]', function(c)
      return string.format("\\u%04x", c:byte())
   end) .. '"'
end

function pick(list)
   return list[math.random(#list)]
end

-- wrk calls done() once with totals; latencies are in microseconds.
function done(summary, latency, requests)
   local seconds = summary.duration / 1e6
   local errors = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "seconds": %.3f, "rps": %.1f, ' ..
      '"p50_ms": %.2f, "p90_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f, "mean_ms": %.2f, ' ..
      '"errors_connect": %d, "errors_read": %d, "errors_write": %d, ' ..
      '"errors_status": %d, "errors_timeout": %d}\n',
      summary.requests, seconds, summary.requests / seconds,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000,
      errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
