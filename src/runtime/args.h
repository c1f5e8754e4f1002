// runtime/args.h — encoded argument lists on the submitting side.
#pragma once

#include <memory>
#include <vector>

#include "common/status.h"
#include "objects/object_table.h"
#include "rankflow/internal/core.h"

namespace rankflow::runtime {

/// Replaces kRef arguments by the (ready) referenced values; a failed
/// dependency fails the whole list with the dependency's error.
Status ResolveArgs(objects::ObjectTable& table, const std::vector<uint8_t>& in,
                   const std::vector<std::shared_ptr<internal::RefHandle>>& refs,
                   std::vector<uint8_t>& out);

}  // namespace rankflow::runtime
