-- A script with a bug on line 3: a misspelt local.
local total = 0
return totl + 1
