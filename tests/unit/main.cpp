// The one translation unit that provides doctest's main(); every other tests/unit/*.cpp
// file holds the test cases of one module, named after it (test_<module>.cpp).
// Code under test logs warnings (servers marked down, promotions) that are expected here:
// only errors reach the output.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "sluice/log.h"

int main(int argc, char** argv) {
  sluice::log::set_level("error");
  return doctest::Context(argc, argv).run();
}
