// Placeholder until the element tests land.
#include <gtest/gtest.h>
