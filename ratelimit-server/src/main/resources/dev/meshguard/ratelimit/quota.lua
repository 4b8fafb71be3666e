-- meshguard tenant quota: every counter of one tenant (one hash tag, one slot), checked and
-- counted atomically, all or nothing. The Lua twin of QuotaCounters.java and of MemoryStore's
-- quota path; keep them in step (QuotaSemantics runs the same cases on both stores). Needs
-- common.lua before it.
--
-- quota(out, k, a, last) reads KEYS from k to the end and ARGV[a..last]:
--   ARGV: hits, then per limit five values:
--     kind (p: one counter per period | s: sliding window), room (hard limits: the most usage
--     before the request that admits it, amount - hits; soft ones: -), hard (1|0),
--     ttl (ms a counter created now must live), weight (s only: the previous window's weight,
--     Algorithms.weight of the time elapsed in the current window, in 1/65536)
--   KEYS: per limit, p: its period's counter; s: the current window's, then the previous one's.
-- Appends to out: admitted (1|0), then per limit two integers: usage before, current counter before.
--
-- Lua here is interpreted and each number parsed from a string costs about as much as a
-- redis.call, so the script parses only what it compares: a counter that exists, the previous
-- window's count, the room of a hard limit. Hits and ttl go to Redis as the strings they came as.
local function quota(out, k, a, last)
  local hits = ARGV[a]
  local counting = hits ~= '0'
  local values = redis.call('MGET', unpack(KEYS, k))
  local admitted = 1
  local o = #out + 1
  out[o] = admitted
  local v = 1
  local i = a + 1
  while i <= last do
    local c = values[v]
    c = c and tonumber(c) or 0
    local before = c
    if ARGV[i] == 's' then
      local previous = values[v + 1]
      if previous then
        before = c + idiv(previous * ARGV[i + 4], WEIGHT_ONE)
      end
      v = v + 2
    else
      v = v + 1
    end
    if counting and ARGV[i + 2] == '1' and before > tonumber(ARGV[i + 1]) then
      admitted = 0
    end
    out[#out + 1] = before
    out[#out + 1] = c
    i = i + 5
  end

  if admitted == 1 and counting then
    local key = k
    local j = o + 2
    i = a + 1
    while i <= last do
      redis.call('INCRBY', KEYS[key], hits)
      -- A counter's expiry is set when it is created: its period's end (plus jitter) does not move
      -- while the period lasts, so setting it on every hit would only cost a call.
      if out[j] == 0 then
        redis.call('PEXPIRE', KEYS[key], ARGV[i + 3])
      end
      if ARGV[i] == 's' then
        key = key + 2
      else
        key = key + 1
      end
      i = i + 5
      j = j + 2
    end
  end
  out[o] = admitted
  return out
end
