// Every definition of SqlMetadataStore, for the one file per database that
// instantiates it (sqlite_metadata_store.cpp, postgres_metadata_store.cpp).
#pragma once

#include "metadata/sql_bucket_queries.hpp"
#include "metadata/sql_caches.hpp"
#include "metadata/sql_content.hpp"
#include "metadata/sql_gc.hpp"
#include "metadata/sql_outbox.hpp"
#include "metadata/sql_paths.hpp"
#include "metadata/sql_writers.hpp"
