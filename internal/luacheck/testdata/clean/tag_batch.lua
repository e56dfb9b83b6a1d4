-- Tags an item with every tag in ARGV and keeps per-tag counters.
--
-- KEYS[1] item's tag set
-- KEYS[2] tag counters sorted set
-- KEYS[3] recently tagged items stream
-- ARGV[1] item id
-- ARGV[2...] tags
--
-- Returns the tags that were new for the item.
local itemTags, counters, recent = KEYS[1], KEYS[2], KEYS[3]
local item = ARGV[1]

local function slice(t, from)
  local out = {}
  for i = from, #t do
    out[#out + 1] = t[i]
  end
  return out
end

local function trim(s)
  return (string.gsub(s, "^%s*(.-)%s*$", "%1"))
end

local tags = {}
for _, raw in ipairs(slice(ARGV, 2)) do
  local tag = string.lower(trim(raw))
  if tag ~= "" then
    tags[#tags + 1] = tag
  end
end
if select("#", unpack(tags)) == 0 then
  return {}
end

local added = {}
local flags = redis.call("SMISMEMBER", itemTags, unpack(tags))
for i, present in ipairs(flags) do
  if present == 0 then
    table.insert(added, tags[i])
    redis.call("ZINCRBY", counters, 1, tags[i])
  end
end
if #added > 0 then
  redis.call("SADD", itemTags, unpack(added))
  redis.call("XADD", recent, "MAXLEN", "~", 1000, "*", "item", item, "tags", table.concat(added, ","))
end
return added
