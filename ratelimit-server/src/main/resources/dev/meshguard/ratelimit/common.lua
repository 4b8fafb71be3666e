-- meshguard's Redis scripts: what ratelimit.lua and quota.lua share. RedisStore puts this first in
-- each script it sends. All numbers are integers below 2^53, exact in Lua's doubles.

-- The fixed-point unit of a sliding window's weight (Algorithms.WEIGHT_ONE).
local WEIGHT_ONE = 65536

-- floor(x / y) for integers 0 <= x < 2^53, y > 0: the division of doubles may round up to
-- the next integer, so correct by the exact remainder.
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

local function ceildiv(x, y)
  return idiv(x + y - 1, y)
end

-- Integers as Redis arguments: tostring would write 1e+15 for large ones.
local function int(x)
  return string.format('%d', x)
end
