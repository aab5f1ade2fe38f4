/*
 * adapters.h - core/adapters: Kafka, Redis, the journal, metrics, config,
 * a stage's life and the runtime, around the rules of core/domain
 * (docs/architecture.md, "Map"). Including this includes every adapter.
 */
#ifndef CHISO_ADAPTERS_H
#define CHISO_ADAPTERS_H

#include "chiso/domain.h"

#include "chiso/applied.h"
#include "chiso/catview.h"
#include "chiso/config.h"
#include "chiso/consumer.h"
#include "chiso/journal.h"
#include "chiso/kafka.h"
#include "chiso/metrics.h"
#include "chiso/redisargs.h"
#include "chiso/redisx.h"
#include "chiso/runtime.h"
#include "chiso/stage.h"
#include "chiso/tail.h"
#include "chiso/txn.h"

#endif
