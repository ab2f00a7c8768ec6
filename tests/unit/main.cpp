// The one translation unit that provides doctest's main(); every other tests/unit/*.cpp
// file holds the test cases of one module, named after it (test_<module>.cpp).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
