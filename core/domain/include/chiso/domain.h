/*
 * domain.h - core/domain: the rules (Decisions 1042 and 766, the contract's
 * records) as pure functions of their inputs: no Kafka, Redis, HTTP,
 * threads, clock or environment (docs/architecture.md, "Map").
 * Including this includes every domain header.
 */
#ifndef CHISO_DOMAIN_H
#define CHISO_DOMAIN_H

#include "chiso/catalog.h"
#include "chiso/classify.h"
#include "chiso/common.h"
#include "chiso/counters.h"
#include "chiso/deadletter.h"
#include "chiso/dossier.h"
#include "chiso/emit.h"
#include "chiso/event.h"
#include "chiso/feedback.h"
#include "chiso/ontime.h"
#include "chiso/score.h"
#include "chiso/scoredoc.h"
#include "chiso/snapshot.h"
#include "chiso/strmap.h"
#include "chiso/vnfmt.h"
#include "chiso/vntime.h"
#include "chiso/wall_json.h"

#endif
