-- Ignore comments.
redis.call("GET", "a") -- redislua:ignore key-not-from-KEYS
redis.call("GET", "b") -- redislua:ignore keys-index, key-not-from-KEYS: shared config key
-- redislua:ignore key-not-from-KEYS
redis.call("GET", "c")
-- redislua:ignore key-not-from-KEYS
-- the line above also covers this call, across this comment
redis.call("GET", "d")
redis.call("GET", "e") -- redislua:ignore
redis.call("GET", "f") -- redislua:ignore undefined-global
redis.call("GET", "g") -- redislua:ignore typo-id
redis.call("GET", "-- redislua:ignore key-not-from-KEYS")
redis.call("GET", -- redislua:ignore key-not-from-KEYS
  "h")
redis.call("GET", "i") --[[ redislua:ignore key-not-from-KEYS ]]
-- redislua:ignore key-not-from-KEYS

redis.call("GET", "j")
x = 1 -- REDISLUA:IGNORE GLOBAL-WRITE
