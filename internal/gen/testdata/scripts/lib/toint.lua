-- Reads an integer argument, refusing anything else.
local function toint(s)
  local n = tonumber(s)
  if n == nil or n ~= math.floor(n) then
    return error('not an integer: ' .. tostring(s))
  end
  return n
end
