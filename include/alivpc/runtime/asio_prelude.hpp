// Include first, before any Boost.Asio header: Boost 1.74's coroutine support uses
// std::exchange on GCC 12 without including <utility> itself.
#pragma once

#include <utility>
