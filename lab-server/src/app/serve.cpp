#include "app/serve.hpp"

namespace nixedge::lab {

Result<void> serve(Lab&, const ServeOptions&) {
    return Error{ErrorCode::internal, "serve: not wired yet"};
}

} // namespace nixedge::lab
