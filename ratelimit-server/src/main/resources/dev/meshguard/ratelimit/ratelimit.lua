-- meshguard rate limit: every counter of one request (on Redis Cluster: of one hash slot),
-- decided atomically in one call. The Lua twin of Algorithms.java; keep the two in step
-- (StoresAgreeTest compares them). Needs common.lua before it.
--
-- ratelimit(out, k, a, last) reads KEYS from k and ARGV[a..last]:
--   ARGV: now (Unix ms), expiry jitter (s), then per counter six values:
--     algorithm (f|s|b), limit, burst, window (ms), hits, elapsed (ms into the aligned window)
--   KEYS: per counter, f: its window; s: its window, then the previous window; b: its bucket.
-- Appends to out five integers per counter: count, capacity, reset (ms), retry (ms, -1 never),
-- first over (0|1).

local function weighted(count, elapsed, window)
  local w = idiv((window - elapsed) * WEIGHT_ONE, window)
  return idiv(count * w, WEIGHT_ONE)
end

local function first_elapsed_where_weighted_at_most(count, room, window)
  local wmax = idiv((room + 1) * WEIGHT_ONE - 1, count)
  return window - ceildiv((wmax + 1) * window, WEIGHT_ONE) + 1
end

local function sliding_retry(previous, current, limit, elapsed, window)
  if limit == 0 then
    return -1
  end
  local room = limit - current - 1
  if room >= 0 then
    if weighted(previous, elapsed, window) <= room then
      return 0
    end
    return first_elapsed_where_weighted_at_most(previous, room, window) - elapsed
  end
  return window - elapsed + first_elapsed_where_weighted_at_most(current, limit - 1, window)
end

local function bucket_retry(x, limit, burst, window)
  if burst == 0 then
    return -1
  end
  local excess = x - (burst - 1) * window
  if excess <= 0 then
    return 0
  end
  return ceildiv(excess, limit)
end

local function ratelimit(out, k, a, last)
  local now = tonumber(ARGV[a])
  local jitter = tonumber(ARGV[a + 1])
  a = a + 2
  while a <= last do
    local algorithm = ARGV[a]
    local limit = tonumber(ARGV[a + 1])
    local burst = tonumber(ARGV[a + 2])
    local window = tonumber(ARGV[a + 3])
    local hits = tonumber(ARGV[a + 4])
    local elapsed = tonumber(ARGV[a + 5])
    a = a + 6
    local count, capacity, reset, retry
    local first = 0

    if algorithm == 'f' then
      -- As envoyproxy/ratelimit: INCRBY, then EXPIRE of the window (plus jitter) on every hit.
      local key = KEYS[k]
      k = k + 1
      if hits > 0 then
        count = redis.call('INCRBY', key, int(hits))
        redis.call('EXPIRE', key, int(window / 1000 + jitter))
      else
        count = tonumber(redis.call('GET', key) or '0')
      end
      capacity = limit
      reset = window - elapsed
      if count < limit then
        retry = 0
      elseif limit == 0 then
        retry = -1
      else
        retry = reset
      end
      if hits > 0 and count > limit and count - hits <= limit then
        first = 1
      end

    elseif algorithm == 's' then
      local key, before = KEYS[k], KEYS[k + 1]
      k = k + 2
      local current = tonumber(redis.call('HGET', key, 'n') or '0')
      local previous = tonumber(redis.call('HGET', before, 'n') or '0')
      count = weighted(previous, elapsed, window) + current + hits
      if hits > 0 and count <= limit then
        current = redis.call('HINCRBY', key, 'n', int(hits))
        redis.call('EXPIRE', key, int(2 * window / 1000 + jitter))
      elseif hits > 0 then
        if redis.call('HSETNX', key, 'd', '1') == 1 then
          first = 1
          redis.call('EXPIRE', key, int(2 * window / 1000 + jitter))
        end
      end
      capacity = limit
      if current > 0 then
        reset = 2 * window - elapsed
      else
        reset = window - elapsed
      end
      retry = sliding_retry(previous, current, limit, elapsed, window)

    else -- 'b': GCRA, TAT = t + f / limit ms
      local key = KEYS[k]
      k = k + 1
      capacity = burst
      if limit == 0 then
        count = hits
        capacity = 0
        reset = window
        retry = -1
        if hits > 0 and redis.call('HSETNX', key, 'd', '1') == 1 then
          first = 1
          redis.call('PEXPIRE', key, int(window + jitter * 1000))
        end
      else
        local state = redis.call('HMGET', key, 't', 'f', 'd')
        local t, f = tonumber(state[1]), tonumber(state[2])
        if t == nil or t < now or (t == now and f == 0) then
          t = now
          f = 0
        end
        local x = (t - now) * limit + f
        count = ceildiv(x, window) + hits
        if hits > 0 and count <= burst then
          local sum = f + hits * window
          local q = idiv(sum, limit)
          t = t + q
          f = sum - q * limit
          x = (t - now) * limit + f
          reset = ceildiv(x, limit)
          redis.call('HSET', key, 't', int(t), 'f', int(f))
          if state[3] then
            redis.call('HDEL', key, 'd')
          end
          redis.call('PEXPIRE', key, int(math.max(reset, 1) + jitter * 1000))
        else
          reset = ceildiv(x, limit)
          if hits > 0 and redis.call('HSETNX', key, 'd', '1') == 1 then
            first = 1
            redis.call('PEXPIRE', key, int(math.max(reset, 1) + jitter * 1000))
          end
        end
        retry = bucket_retry(x, limit, burst, window)
      end
    end

    out[#out + 1] = count
    out[#out + 1] = capacity
    out[#out + 1] = reset
    out[#out + 1] = retry
    out[#out + 1] = first
  end
  return out
end
