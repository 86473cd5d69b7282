-- Paces each wrk connection: after every answer it waits BERTH_WRK_DELAY_MS before the next
-- request, so the offered rate is about connections * 1000 / delay requests per second, far below
-- saturation.
--
-- BERTH_WRK_STAGGER=1 spreads the connections' first requests evenly over one delay, as wrk2 does
-- (it starts its connections 5 ms apart), so requests arrive at a steady rate and the latency is the
-- proxy's own cost. Without it every connection starts at once and stays in step: requests arrive
-- as bursts of one per connection, and the slowest of a burst waits for the whole burst.
-- delay() is called once before each request, the first `connections` calls being each
-- connection's first request (wrk -t1: one Lua state for all connections).
local delay_ms = tonumber(os.getenv("BERTH_WRK_DELAY_MS") or "0")
local connections = tonumber(os.getenv("BERTH_WRK_CONNECTIONS") or "1")
local stagger = os.getenv("BERTH_WRK_STAGGER") == "1"
local started = 0

function delay()
  if stagger and started < connections then
    started = started + 1
    return math.floor((started - 1) * delay_ms / connections)
  end
  return delay_ms
end
