// The C ABI shared by the two wasm modules (see abi.cpp for the convention):
// the helpers that every ne_* operation wrapper in exports_edge.cpp and
// exports_lab.cpp uses. The only headers that know they are compiled to wasm.
#pragma once

#include "nixedge/bytes.hpp"
#include "nixedge/result.hpp"

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#define NE_EXPORT(name) extern "C" __attribute__((export_name(#name)))

namespace nixedge::abi {

// Puts `bytes` in the result buffer; returns status 0.
std::int32_t succeed(std::string_view bytes);
// Puts the error detail in the result buffer; returns its code.
std::int32_t fail(const Error& error);

inline std::int32_t deliver(const std::string& text) {
    return succeed(text);
}
inline std::int32_t deliver(const Bytes& bytes) {
    return succeed(as_chars(bytes));
}
template <class T> std::int32_t deliver(const Result<T>& result) {
    if (result.ok())
        return deliver(*result);
    return fail(result.error());
}

// A (pointer, length) argument.
struct Input {
    const std::uint8_t* data;
    std::size_t size;
    ByteView bytes() const { return size == 0 ? ByteView{} : ByteView{data, size}; }
};

// Checks the inputs, then runs the operation and delivers its outcome. A null
// pointer with a non-zero length is a caller bug: invalid_argument, never read.
template <class Operation> std::int32_t run(std::initializer_list<Input> inputs, Operation op) {
    for (const Input& in : inputs)
        if (in.data == nullptr && in.size != 0)
            return fail(
                make_error(ErrorCode::invalid_argument, "null pointer with non-zero length"));
    return deliver(op());
}

} // namespace nixedge::abi
