local function check_amount(amount)
  if not tonumber(amount) or tonumber(amount) <= 0 then
    error('amount must be a positive integer')
  end
end
