-- meshguard tenant quota: every counter of one tenant (one hash tag, one slot), checked and
-- counted atomically, all or nothing. The Lua twin of QuotaCounters.java and of
-- MemoryStore's quota path; keep them in step (QuotaStoresAgreeIT compares them).
-- All numbers are integers below 2^53, exact in Lua's doubles.
--
-- ARGV: hits, then per limit six values:
--   kind (p: one counter per period | s: sliding window), amount, hard (1|0),
--   ttl (ms a counter written now must live), window (ms, s only), elapsed (ms, s only)
-- KEYS: per limit, p: its period's counter; s: the current window's, then the previous one's.
-- Returns: admitted (1|0), then per limit two integers: usage before, current counter before.

local hits = tonumber(ARGV[1])
local WEIGHT_ONE = 65536

-- floor(x / y) for integers 0 <= x < 2^53, y > 0, corrected by the exact remainder.
local function idiv(x, y)
  local q = math.floor(x / y)
  local r = x - q * y
  if r < 0 then
    q = q - 1
  elseif r >= y then
    q = q + 1
  end
  return q
end

local function weighted(count, elapsed, window)
  local w = idiv((window - elapsed) * WEIGHT_ONE, window)
  return idiv(count * w, WEIGHT_ONE)
end

-- One MGET reads every counter (all in the tenant's slot): one redis.call instead of one per key.
local values = redis.call('MGET', unpack(KEYS))
local before = {}
local current = {}
local admitted = 1
local k = 1
local a = 2
local i = 1
while a <= #ARGV do
  local kind = ARGV[a]
  local amount = tonumber(ARGV[a + 1])
  local hard = ARGV[a + 2] == '1'
  local c = tonumber(values[k] or '0')
  current[i] = c
  if kind == 'p' then
    before[i] = c
    k = k + 1
  else
    local previous = tonumber(values[k + 1] or '0')
    before[i] = weighted(previous, tonumber(ARGV[a + 5]), tonumber(ARGV[a + 4])) + c
    k = k + 2
  end
  if hits > 0 and hard and before[i] + hits > amount then
    admitted = 0
  end
  a = a + 6
  i = i + 1
end

if admitted == 1 and hits > 0 then
  k = 1
  a = 2
  i = 1
  while a <= #ARGV do
    redis.call('INCRBY', KEYS[k], string.format('%d', hits))
    -- A counter's expiry is set when it is created: its period's end (plus jitter) does not move
    -- while the period lasts, so setting it on every hit would only cost a call.
    if current[i] == 0 then
      redis.call('PEXPIRE', KEYS[k], string.format('%d', math.max(tonumber(ARGV[a + 3]), 1)))
    end
    if ARGV[a] == 'p' then
      k = k + 1
    else
      k = k + 2
    end
    a = a + 6
    i = i + 1
  end
end

local out = {admitted}
for j = 1, #before do
  out[#out + 1] = before[j]
  out[#out + 1] = current[j]
end
return out
