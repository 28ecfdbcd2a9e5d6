/* test_buf.c - the growable buffer and URI encoding. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "testmain.h"

static void test_put_and_printf(void)
{
	fugue_buf b = FUGUE_BUF_INIT;
	int i;

	CU_ASSERT_EQUAL(fugue_buf_puts(&b, "abc"), 0);
	CU_ASSERT_EQUAL(fugue_buf_printf(&b, "-%d-", 42), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "abc-42-");
	CU_ASSERT_EQUAL(b.len, 7);
	for (i = 0; i < 1000; i++)
		CU_ASSERT_EQUAL_FATAL(fugue_buf_putc(&b, 'x'), 0);
	CU_ASSERT_EQUAL(b.len, 1007);
	CU_ASSERT_EQUAL(b.data[1007], '\0');
	fugue_buf_clear(&b);
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_STRING_EQUAL(b.data, "");
	fugue_buf_free(&b);
	CU_ASSERT_PTR_NULL(b.data);
}

static void test_uri_encode(void)
{
	fugue_buf b = FUGUE_BUF_INIT;
	const char *s = "a b/c~d_e.f-g+h=\xc3\xa9*";

	fugue_buf_put_uri_encoded(&b, s, strlen(s), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "a%20b%2Fc~d_e.f-g%2Bh%3D%C3%A9%2A");
	fugue_buf_clear(&b);
	fugue_buf_put_uri_encoded(&b, s, strlen(s), 1);
	CU_ASSERT_STRING_EQUAL(b.data, "a%20b/c~d_e.f-g%2Bh%3D%C3%A9%2A");
	fugue_buf_free(&b);
}

static void test_hex_and_detach(void)
{
	fugue_buf b = FUGUE_BUF_INIT;
	const unsigned char bytes[] = { 0x00, 0xab, 0xff };
	char *s;

	fugue_buf_put_hex(&b, bytes, sizeof(bytes));
	s = fugue_buf_detach(&b);
	CU_ASSERT_STRING_EQUAL(s, "00abff");
	CU_ASSERT_PTR_NULL(b.data);
	free(s);
	s = fugue_buf_detach(&b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "");
	free(s);
}

int fugue_test_register(void)
{
	CU_pSuite s = CU_add_suite("buf", NULL, NULL);

	CU_add_test(s, "put and printf", test_put_and_printf);
	CU_add_test(s, "uri encode", test_uri_encode);
	CU_add_test(s, "hex and detach", test_hex_and_detach);
	return 0;
}
