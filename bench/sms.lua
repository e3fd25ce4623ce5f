-- wrk script for the benchmark (bench/load.py runs it; one wrk thread).
--
-- With a request file (wrk ... -- FILE [FIRST]): replays pre-signed Twilio forms, one
-- per line ("signature<TAB>body"), in file order from line FIRST (default 1). Requests are
-- formatted once, in init, so sending one costs wrk nothing but the write. Past the last
-- line it starts again from FIRST and counts the wrap: the driver refuses such a run,
-- since repeated MessageSids take the service's cheap duplicate path.
-- Without one: the plain GET of the URL given to wrk (the bare route).
--
-- done() prints one line "WRK_RESULT {json}" that the driver reads.

local requests = {}
local first = 1
local nextone = 1
local plain = nil
local threads = {}
-- Globals, so that done() can read them from the thread with thread:get().
sent = 0
wraps = 0

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  local file = args[1]
  if file == nil then
    plain = wrk.format("GET")
    return
  end
  first = tonumber(args[2] or "1")
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = "",
  }
  local n = 0
  for line in io.lines(file) do
    n = n + 1
    if n >= first then
      local signature, body = line:match("^([^\t]+)\t(.*)$")
      headers["X-Twilio-Signature"] = signature
      requests[#requests + 1] = wrk.format("POST", wrk.path, headers, body)
    end
  end
  nextone = 1
end

function request()
  if plain ~= nil then
    return plain
  end
  if nextone > #requests then
    nextone = 1
    wraps = wraps + 1
  end
  local r = requests[nextone]
  nextone = nextone + 1
  sent = sent + 1
  return r
end

function done(summary, latency, _)
  local sent_total, wraps_total = 0, 0
  for _, thread in ipairs(threads) do
    sent_total = sent_total + (thread:get("sent") or 0)
    wraps_total = wraps_total + (thread:get("wraps") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "sent": %d, "wraps": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, '
      .. '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration, sent_total, wraps_total,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
