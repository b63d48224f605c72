-- The HTTP half of `npm run soak` (bench/soak.js). Each thread cycles through a signed-in GET,
-- a signed-in POST with a small body and a public GET, and counts every status it gets: wrk on
-- its own counts only statuses from 400 as errors, and a redirect to sign-in must count too.
-- Arguments after `--`: the session cookie, then the most responses one thread may take.

local requests = {}
-- globals, not locals: done() reads them from each thread with thread:get()
statuses = {}
responses = 0
local limit = math.huge
local turn = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local cookie = args[1]
  limit = tonumber(args[2]) or limit
  requests = {
    wrk.format("GET", "/app/items?page=1", { Cookie = cookie }),
    wrk.format("POST", "/app/items", { Cookie = cookie, ["Content-Type"] = "application/json" },
      '{"name":"soak","tags":["a","b"]}'),
    wrk.format("GET", "/public/assets/app.css?v=1"),
  }
end

function request()
  turn = turn % #requests + 1
  return requests[turn]
end

function response(status)
  responses = responses + 1
  statuses[status] = (statuses[status] or 0) + 1
  if responses >= limit then
    wrk.thread:stop()
  end
end

-- one line of JSON for bench/soak.js, summed over the threads
function done(summary, latency)
  local counts = {}
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("responses")
    for status, count in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(counts) do
    table.insert(parts, string.format('"%d":%d', status, count))
  end
  local errors = summary.errors
  io.write(string.format(
    'SOAK_RESULT {"responses":%d,"statuses":{%s},"connect":%d,"read":%d,"write":%d,' ..
      '"timeout":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    total, table.concat(parts, ","), errors.connect, errors.read, errors.write, errors.timeout,
    summary.duration, latency:percentile(50), latency:percentile(99), latency.max))
end
