// Placeholder until the lab server lands (it is tracked as its own issue).
// It says so and exits non-zero rather than pretending to serve anything.
#include <cstdio>

int main() {
    std::fprintf(stderr, "nixedge-server: the lab server is not implemented yet.\n"
                         "This build contains the shared core and its tests only; "
                         "run `make test` to exercise them.\n");
    return 2;
}
