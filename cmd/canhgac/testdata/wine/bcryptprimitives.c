/*
 * ProcessPrng for Wine 8 (Debian 12), which lacks bcryptprimitives.dll.
 * Go 1.22 and later take their randomness from it on Windows, so without
 * it no Go program starts under that Wine. Test use only: the foreign
 * agent test builds this next to canhgac.exe when Wine has no such DLL.
 * Real Windows (8 and later) has the real one.
 */
#include <windows.h>

typedef BOOLEAN(WINAPI *genrandom)(PVOID, ULONG);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	static genrandom f;
	if (!f) {
		f = (genrandom)GetProcAddress(LoadLibraryA("advapi32.dll"), "SystemFunction036");
		if (!f)
			return FALSE;
	}
	while (len > 0) {
		ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
		if (!f(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
