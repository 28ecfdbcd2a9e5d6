/* output.c - what `fugue` shows people and scripts: errors and hints,
 * colour, aligned tables, JSON documents, times, confirmation prompts.
 *
 * Colour is decided once, in main.c (cli->color, cli->color_err); every
 * function here only asks those flags, so a test can switch colour on and
 * off by filling a fugue_cli itself. */
#include "cli.h"

#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "fugue/common.h"

#define ESC_RESET "\033[0m"

static const char *const COLOR_CODES[] = {
	[FUGUE_COLOR_NONE] = "",
	[FUGUE_COLOR_RED] = "\033[31m",
	[FUGUE_COLOR_GREEN] = "\033[32m",
	[FUGUE_COLOR_YELLOW] = "\033[33m",
	[FUGUE_COLOR_BLUE] = "\033[34m",
	[FUGUE_COLOR_BOLD] = "\033[1m",
	[FUGUE_COLOR_DIM] = "\033[2m",
};

static const char *code_of(fugue_cli_color color)
{
	if ((size_t)color >= sizeof(COLOR_CODES) / sizeof(COLOR_CODES[0]))
		return "";
	return COLOR_CODES[color];
}

static const char *prog_of(const fugue_cli *cli)
{
	return cli && cli->prog ? cli->prog : "fugue";
}

/* --- errors -------------------------------------------------------------------- */

/* One stderr line "PROG: LABEL: MESSAGE", LABEL coloured on a terminal. */
static void vreport(const fugue_cli *cli, const char *label, fugue_cli_color color,
                    const char *fmt, va_list ap)
{
	int colored = cli && cli->color_err && color != FUGUE_COLOR_NONE;

	fflush(stdout);
	fprintf(stderr, "%s: %s%s%s: ", prog_of(cli), colored ? code_of(color) : "", label,
	        colored ? ESC_RESET : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void fugue_cli_error(const fugue_cli *cli, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(cli, "error", FUGUE_COLOR_RED, fmt, ap);
	va_end(ap);
}

void fugue_cli_warning(const fugue_cli *cli, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(cli, "warning", FUGUE_COLOR_YELLOW, fmt, ap);
	va_end(ap);
}

void fugue_cli_hint(const fugue_cli *cli, const char *fmt, ...)
{
	int colored = cli && cli->color_err;
	va_list ap;

	fprintf(stderr, "  %shint%s: ", colored ? code_of(FUGUE_COLOR_DIM) : "",
	        colored ? ESC_RESET : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int fugue_cli_usage_error(const fugue_cli *cli, const char *command, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(cli, "error", FUGUE_COLOR_RED, fmt, ap);
	va_end(ap);
	if (command)
		fugue_cli_hint(cli, "try `%s %s --help`", prog_of(cli), command);
	else
		fugue_cli_hint(cli, "try `%s --help`", prog_of(cli));
	return FUGUE_EXIT_USAGE;
}

/* --- JSON ------------------------------------------------------------------------- */

void fugue_cli_print_json(const fugue_cli *cli, const struct json_object *o)
{
	/* json-c's serializer takes a non-const pointer (it caches the text). */
	struct json_object *j = (struct json_object *)(uintptr_t)o;
	const char *text;

	(void)cli;
	text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
	                                             JSON_C_TO_STRING_SPACED |
	                                             JSON_C_TO_STRING_NOSLASHESCAPE);
	fputs(text ? text : "null", stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

/* --- colour ------------------------------------------------------------------------ */

const char *fugue_cli_color_on(const fugue_cli *cli, fugue_cli_color color)
{
	if (!cli || !cli->color)
		return "";
	return code_of(color);
}

const char *fugue_cli_reset(const fugue_cli *cli)
{
	if (!cli || !cli->color)
		return "";
	return ESC_RESET;
}

/* --- display width ------------------------------------------------------------------ */

struct range {
	uint32_t lo;
	uint32_t hi;
};

/* Code points that take no column: combining marks, zero-width spaces and
 * joiners, variation selectors. Not the whole Unicode table; the scripts a
 * resource name, a message or an AWS error realistically contains. */
static const struct range ZERO_WIDTH[] = {
	{ 0x0300, 0x036F }, { 0x0483, 0x0489 }, { 0x0591, 0x05BD }, { 0x0610, 0x061A },
	{ 0x064B, 0x065F }, { 0x0E31, 0x0E31 }, { 0x0E34, 0x0E3A }, { 0x0E47, 0x0E4E },
	{ 0x1AB0, 0x1AFF }, { 0x1DC0, 0x1DFF }, { 0x200B, 0x200F }, { 0x202A, 0x202E },
	{ 0x2060, 0x2064 }, { 0x20D0, 0x20FF }, { 0xFE00, 0xFE0F }, { 0xFE20, 0xFE2F },
	{ 0xFEFF, 0xFEFF }, { 0xE0100, 0xE01EF },
};

/* Code points that take two columns: East Asian wide and fullwidth forms,
 * and the emoji blocks terminals draw double. */
static const struct range WIDE[] = {
	{ 0x1100, 0x115F },   { 0x231A, 0x231B },   { 0x2329, 0x232A },   { 0x23E9, 0x23EC },
	{ 0x23F0, 0x23F0 },   { 0x23F3, 0x23F3 },   { 0x25FD, 0x25FE },   { 0x2614, 0x2615 },
	{ 0x2648, 0x2653 },   { 0x267F, 0x267F },   { 0x2693, 0x2693 },   { 0x26A1, 0x26A1 },
	{ 0x26AA, 0x26AB },   { 0x26BD, 0x26BE },   { 0x26C4, 0x26C5 },   { 0x26CE, 0x26CE },
	{ 0x26D4, 0x26D4 },   { 0x26EA, 0x26EA },   { 0x26F2, 0x26F3 },   { 0x26F5, 0x26F5 },
	{ 0x26FA, 0x26FA },   { 0x26FD, 0x26FD },   { 0x2705, 0x2705 },   { 0x270A, 0x270B },
	{ 0x2728, 0x2728 },   { 0x274C, 0x274C },   { 0x274E, 0x274E },   { 0x2753, 0x2755 },
	{ 0x2757, 0x2757 },   { 0x2795, 0x2797 },   { 0x27B0, 0x27B0 },   { 0x27BF, 0x27BF },
	{ 0x2B1B, 0x2B1C },   { 0x2B50, 0x2B50 },   { 0x2B55, 0x2B55 },   { 0x2E80, 0x303E },
	{ 0x3041, 0x33FF },   { 0x3400, 0x4DBF },   { 0x4E00, 0x9FFF },   { 0xA000, 0xA4CF },
	{ 0xA960, 0xA97F },   { 0xAC00, 0xD7A3 },   { 0xF900, 0xFAFF },   { 0xFE10, 0xFE19 },
	{ 0xFE30, 0xFE6F },   { 0xFF00, 0xFF60 },   { 0xFFE0, 0xFFE6 },   { 0x16FE0, 0x16FE4 },
	{ 0x17000, 0x18CFF }, { 0x1B000, 0x1B2FF }, { 0x1F004, 0x1F004 }, { 0x1F0CF, 0x1F0CF },
	{ 0x1F18E, 0x1F18E }, { 0x1F191, 0x1F19A }, { 0x1F200, 0x1F251 }, { 0x1F300, 0x1F320 },
	{ 0x1F32D, 0x1F335 }, { 0x1F337, 0x1F37C }, { 0x1F37E, 0x1F393 }, { 0x1F3A0, 0x1F3CA },
	{ 0x1F3CF, 0x1F3D3 }, { 0x1F3E0, 0x1F3F0 }, { 0x1F3F4, 0x1F3F4 }, { 0x1F3F8, 0x1F43E },
	{ 0x1F440, 0x1F440 }, { 0x1F442, 0x1F4FC }, { 0x1F4FF, 0x1F53D }, { 0x1F54B, 0x1F54E },
	{ 0x1F550, 0x1F567 }, { 0x1F57A, 0x1F57A }, { 0x1F595, 0x1F596 }, { 0x1F5A4, 0x1F5A4 },
	{ 0x1F5FB, 0x1F64F }, { 0x1F680, 0x1F6C5 }, { 0x1F6CC, 0x1F6CC }, { 0x1F6D0, 0x1F6D2 },
	{ 0x1F6D5, 0x1F6D7 }, { 0x1F6EB, 0x1F6EC }, { 0x1F6F4, 0x1F6FC }, { 0x1F7E0, 0x1F7EB },
	{ 0x1F90C, 0x1F93A }, { 0x1F93C, 0x1F945 }, { 0x1F947, 0x1F9FF }, { 0x1FA70, 0x1FAFF },
	{ 0x20000, 0x2FFFD }, { 0x30000, 0x3FFFD },
};

static int in_ranges(uint32_t cp, const struct range *r, size_t n)
{
	size_t lo = 0;
	size_t hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cp < r[mid].lo)
			hi = mid;
		else if (cp > r[mid].hi)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

static int codepoint_width(uint32_t cp)
{
	if (cp == 0)
		return 0;
	if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0))
		return 0;
	if (in_ranges(cp, ZERO_WIDTH, sizeof(ZERO_WIDTH) / sizeof(ZERO_WIDTH[0])))
		return 0;
	if (in_ranges(cp, WIDE, sizeof(WIDE) / sizeof(WIDE[0])))
		return 2;
	return 1;
}

/* Decodes one UTF-8 sequence at S; *LEN is its length in bytes (1 for an
 * invalid byte, which then counts as one column, as terminals show U+FFFD). */
static uint32_t decode_utf8(const unsigned char *s, size_t *len)
{
	uint32_t cp;
	size_t n;
	size_t i;

	if (s[0] < 0x80) {
		*len = 1;
		return s[0];
	}
	if ((s[0] & 0xE0) == 0xC0) {
		n = 2;
		cp = s[0] & 0x1F;
	} else if ((s[0] & 0xF0) == 0xE0) {
		n = 3;
		cp = s[0] & 0x0F;
	} else if ((s[0] & 0xF8) == 0xF0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		*len = 1;
		return 0xFFFD;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*len = 1;
			return 0xFFFD;
		}
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	*len = n;
	return cp;
}

/* Length of an ANSI escape sequence (CSI "ESC [ ... final") at S, or 0. */
static size_t escape_len(const char *s)
{
	size_t i;

	if (s[0] != '\033' || s[1] != '[')
		return 0;
	for (i = 2; s[i]; i++) {
		if (s[i] >= 0x40 && s[i] <= 0x7E)
			return i + 1;
	}
	return i;
}

size_t fugue_cli_display_width(const char *s)
{
	size_t width = 0;

	if (!s)
		return 0;
	while (*s) {
		size_t esc = escape_len(s);
		size_t len;
		uint32_t cp;

		if (esc) {
			s += esc;
			continue;
		}
		cp = decode_utf8((const unsigned char *)s, &len);
		width += (size_t)codepoint_width(cp);
		s += len;
	}
	return width;
}

/* --- tables ------------------------------------------------------------------------ */

struct fugue_table {
	size_t ncols;
	char **headers;            /* ncols */
	char **cells;              /* nrows * ncols */
	fugue_cli_color *colors;   /* nrows * ncols */
	size_t nrows;
	size_t cap;
};

fugue_table *fugue_table_new(size_t ncols, const char *const *headers)
{
	fugue_table *t;
	size_t i;

	if (ncols == 0)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ncols = ncols;
	t->headers = calloc(ncols, sizeof(*t->headers));
	if (!t->headers) {
		free(t);
		return NULL;
	}
	for (i = 0; i < ncols; i++) {
		t->headers[i] = strdup(headers && headers[i] ? headers[i] : "");
		if (!t->headers[i]) {
			fugue_table_free(t);
			return NULL;
		}
	}
	return t;
}

static int table_grow(fugue_table *t)
{
	size_t cap = t->cap ? t->cap * 2 : 16;
	char **cells;
	fugue_cli_color *colors;

	cells = realloc(t->cells, cap * t->ncols * sizeof(*cells));
	if (!cells)
		return FUGUE_ENOMEM;
	t->cells = cells;
	colors = realloc(t->colors, cap * t->ncols * sizeof(*colors));
	if (!colors)
		return FUGUE_ENOMEM;
	t->colors = colors;
	t->cap = cap;
	return 0;
}

int fugue_table_add(fugue_table *t, const char *const *cells, const fugue_cli_color *colors)
{
	size_t base;
	size_t i;

	if (!t)
		return FUGUE_EINVAL;
	if (t->nrows == t->cap && table_grow(t) != 0)
		return FUGUE_ENOMEM;
	base = t->nrows * t->ncols;
	for (i = 0; i < t->ncols; i++) {
		const char *cell = cells && cells[i] ? cells[i] : "-";

		t->cells[base + i] = strdup(cell);
		t->colors[base + i] = colors ? colors[i] : FUGUE_COLOR_NONE;
		if (!t->cells[base + i]) {
			while (i-- > 0)
				free(t->cells[base + i]);
			return FUGUE_ENOMEM;
		}
	}
	t->nrows++;
	return 0;
}

/* Prints CELL in COLOR, padded to WIDTH columns unless it is the last one
 * (no trailing blanks). */
static void print_cell(const fugue_cli *cli, FILE *f, const char *cell, fugue_cli_color color,
                       size_t width, int last)
{
	const char *on = fugue_cli_color_on(cli, color);
	size_t w = fugue_cli_display_width(cell);

	if (*on) {
		fputs(on, f);
		fputs(cell, f);
		fputs(fugue_cli_reset(cli), f);
	} else {
		fputs(cell, f);
	}
	if (last)
		return;
	for (; w < width + 2; w++)
		fputc(' ', f);
}

void fugue_table_print(const fugue_cli *cli, const fugue_table *t, FILE *f)
{
	size_t *widths;
	size_t r;
	size_t i;

	if (!t)
		return;
	widths = calloc(t->ncols, sizeof(*widths));
	if (!widths)
		return;
	for (i = 0; i < t->ncols; i++)
		widths[i] = fugue_cli_display_width(t->headers[i]);
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			size_t w = fugue_cli_display_width(t->cells[r * t->ncols + i]);

			if (w > widths[i])
				widths[i] = w;
		}
	}
	for (i = 0; i < t->ncols; i++)
		print_cell(cli, f, t->headers[i], FUGUE_COLOR_BOLD, widths[i], i + 1 == t->ncols);
	fputc('\n', f);
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++)
			print_cell(cli, f, t->cells[r * t->ncols + i], t->colors[r * t->ncols + i],
			           widths[i], i + 1 == t->ncols);
		fputc('\n', f);
	}
	free(widths);
}

void fugue_table_free(fugue_table *t)
{
	size_t i;

	if (!t)
		return;
	if (t->headers) {
		for (i = 0; i < t->ncols; i++)
			free(t->headers[i]);
	}
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->headers);
	free(t->cells);
	free(t->colors);
	free(t);
}

/* --- time ------------------------------------------------------------------------- */

const char *fugue_cli_time(char *buf, size_t size, const char *rfc3339)
{
	struct tm tm;
	struct tm local;
	time_t t;
	char *end;

	if (!buf || size == 0)
		return "";
	if (!rfc3339) {
		snprintf(buf, size, "-");
		return buf;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end && *end == '.') {
		end++;
		while (isdigit((unsigned char)*end))
			end++;
	}
	/* Only UTC ("Z") is what the Conductor sends; anything else is shown as
	 * it came rather than guessed at. */
	if (!end || (strcmp(end, "Z") != 0 && strcmp(end, "z") != 0)) {
		snprintf(buf, size, "%s", rfc3339);
		return buf;
	}
	t = timegm(&tm);
	if (t == (time_t)-1 || !localtime_r(&t, &local) ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &local) == 0)
		snprintf(buf, size, "%s", rfc3339);
	return buf;
}

/* --- confirmation -------------------------------------------------------------------- */

int fugue_cli_confirm(const fugue_cli *cli, const char *question)
{
	char line[64];
	char *p;
	size_t n;

	if (!cli || !cli->tty_in) {
		fugue_cli_error(cli, "%s needs a confirmation, and stdin is not a terminal",
		                question ? question : "this");
		fugue_cli_hint(cli, "pass -y (--yes) to go ahead without asking");
		return 0;
	}
	fflush(stdout);
	fprintf(stderr, "%s [y/N] ", question ? question : "continue?");
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin)) {
		fputc('\n', stderr);
		return 0;
	}
	for (p = line; isspace((unsigned char)*p); p++)
		;
	n = strlen(p);
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		p[--n] = '\0';
	return strcasecmp(p, "y") == 0 || strcasecmp(p, "yes") == 0;
}

/* --- option errors ------------------------------------------------------------------ */

int fugue_cli_bad_option(const fugue_cli *cli, const char *command, int opt, int argc,
                           char **argv)
{
	const char *arg = optind > 0 && optind - 1 < argc ? argv[optind - 1] : "";
	char name[256];

	if (strncmp(arg, "--", 2) == 0) {
		/* "--alias=x" names the option as "--alias". */
		size_t n = strcspn(arg, "=");

		snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : sizeof(name) - 1),
		         arg);
	} else if (optopt) {
		snprintf(name, sizeof(name), "-%c", optopt);
	} else {
		snprintf(name, sizeof(name), "%s", arg);
	}
	if (opt == ':')
		return fugue_cli_usage_error(cli, command, "option '%s' needs a value", name);
	return fugue_cli_usage_error(cli, command, "unknown option '%s'", name);
}

const char *fugue_cli_strerror(int err)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%s", strerror(err));
	buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}
