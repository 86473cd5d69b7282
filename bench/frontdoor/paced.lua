-- Paces each wrk connection: after every answer it waits BERTH_WRK_DELAY_MS before the next
-- request, so the offered rate is about connections * 1000 / delay requests per second, far below
-- saturation. Latency measured this way is the proxy's own cost, not time spent queueing.
local delay_ms = tonumber(os.getenv("BERTH_WRK_DELAY_MS") or "0")

function delay()
  return delay_ms
end
