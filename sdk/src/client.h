/* client.h - what the client is built from. Internal. */
#ifndef FUGUE_CLIENT_H
#define FUGUE_CLIENT_H

#include <stdarg.h>
#include <stdint.h>

#include "fugue/aws.h"
#include "buf.h"
#include "creds.h"
#include "endpoints.h"
#include "http.h"
#include "ini.h"
#include "ratelimit.h"
#include "retry.h"

#endif
