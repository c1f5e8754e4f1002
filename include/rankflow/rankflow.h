// rankflow/rankflow.h — the one header a user includes.
#pragma once

#include "rankflow/actor.h"
#include "rankflow/api.h"
#include "rankflow/arrays.h"
#include "rankflow/buffer.h"
#include "rankflow/errors.h"
#include "rankflow/graph.h"
#include "rankflow/object_ref.h"
#include "rankflow/placement_group.h"
#include "rankflow/remote.h"
#include "rankflow/serialization.h"
#include "rankflow/task.h"
#include "rankflow/version.h"
