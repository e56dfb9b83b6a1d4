return 1
--- @include "b"
