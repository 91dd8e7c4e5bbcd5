using System.Buffers.Binary;
using System.Text;

namespace VitSharp.Native;

/// <summary>One version a shared library requires from one of its dependencies (an entry of <c>.gnu.version_r</c>).</summary>
/// <param name="File">The dependency's soname, e.g. <c>libstdc++.so.6</c>.</param>
/// <param name="Name">The version name, e.g. <c>GLIBCXX_3.4.32</c>.</param>
/// <param name="Index">The version index that <c>.gnu.version</c> uses for symbols bound to this version.</param>
/// <param name="FlagsOffset">File offset of the entry's 16-bit <c>vna_flags</c> field.</param>
/// <param name="IsWeak">Whether <c>VER_FLG_WEAK</c> is already set.</param>
/// <param name="Symbols">The dynamic symbols bound to this version.</param>
public sealed record ElfVersionNeed(string File, string Name, int Index, long FlagsOffset, bool IsWeak, IReadOnlyList<string> Symbols);

/// <summary>
/// A minimal, read-only reader of the GNU symbol-versioning tables of a 64-bit little-endian ELF shared library:
/// the versions it needs (<c>.gnu.version_r</c>, with the symbols bound to each) and the versions it defines
/// (<c>.gnu.version_d</c>). It reads section headers only, validates every offset it follows, and never executes
/// or maps the file.
/// </summary>
public sealed class ElfSymbolVersions
{
    private const uint ShtDynamic = 6;
    private const uint ShtDynsym = 11;
    private const uint ShtGnuVerdef = 0x6ffffffd;
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const uint ShtGnuVersym = 0x6fffffff;

    /// <summary><c>VER_FLG_WEAK</c>: a missing version is reported as a warning instead of failing the load.</summary>
    public const ushort VerFlagWeak = 0x2;

    public IReadOnlyList<ElfVersionNeed> Needed { get; }
    public IReadOnlyList<string> Defined { get; }

    /// <summary>The library's <c>DT_NEEDED</c> entries: the sonames it links against.</summary>
    public IReadOnlyList<string> NeededLibraries { get; }

    /// <summary>Every dynamic symbol that has a version, with the file offset of its <c>.gnu.version</c> entry.</summary>
    internal IReadOnlyList<(string Symbol, int Index, long VersymOffset)> VersionedSymbols { get; }

    private ElfSymbolVersions(IReadOnlyList<ElfVersionNeed> needed, IReadOnlyList<string> defined, IReadOnlyList<string> neededLibraries,
        IReadOnlyList<(string, int, long)> versionedSymbols)
    {
        Needed = needed;
        Defined = defined;
        NeededLibraries = neededLibraries;
        VersionedSymbols = versionedSymbols;
    }

    public static ElfSymbolVersions Read(string path) => Parse(File.ReadAllBytes(path), path);

    /// <summary>Parses the version tables of an ELF image held in memory; <paramref name="name"/> is used in errors.</summary>
    public static ElfSymbolVersions Parse(ReadOnlySpan<byte> elf, string name) => Parse(elf.ToArray(), name);

    /// <summary>As <see cref="Parse(ReadOnlySpan{byte}, string)"/>, reading <paramref name="elf"/> in place (never modified).</summary>
    public static ElfSymbolVersions Parse(byte[] elf, string name) => new Reader(elf, name).ReadVersions();

    /// <summary>A provider that defines exactly <paramref name="versions"/> (for checking a library against a libstdc++ that is not installed).</summary>
    internal static ElfSymbolVersions WithDefined(IEnumerable<string> versions) => new([], versions.ToList(), [], []);

    /// <summary>The versions required from <paramref name="soname"/> that <paramref name="provider"/> does not define.</summary>
    public IReadOnlyList<ElfVersionNeed> MissingFrom(string soname, ElfSymbolVersions provider)
    {
        var defined = provider.Defined.ToHashSet(StringComparer.Ordinal);
        return Needed.Where(n => n.File == soname && !defined.Contains(n.Name)).ToList();
    }

    private sealed class Reader(byte[] data, string name)
    {
        private readonly record struct Section(uint Type, long Offset, long Size, uint Link, uint Info, long EntSize);

        private Exception Bad(string what) => new InvalidDataException($"{name}: not a readable ELF shared library ({what})");

        private ushort U16(long at) => at >= 0 && at + 2 <= data.Length ? BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan((int)at)) : throw Bad($"offset {at} out of range");
        private uint U32(long at) => at >= 0 && at + 4 <= data.Length ? BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan((int)at)) : throw Bad($"offset {at} out of range");
        private long U64(long at) => at >= 0 && at + 8 <= data.Length ? checked((long)BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan((int)at))) : throw Bad($"offset {at} out of range");

        private string CString(Section strtab, long offset)
        {
            if (offset < 0 || offset >= strtab.Size) throw Bad("string offset out of range");
            long start = strtab.Offset + offset;
            long end = start;
            long limit = Math.Min(strtab.Offset + strtab.Size, data.Length);
            while (end < limit && data[end] != 0) end++;
            if (end >= limit) throw Bad("unterminated string");
            return Encoding.ASCII.GetString(data, (int)start, (int)(end - start));
        }

        public ElfSymbolVersions ReadVersions()
        {
            if (data.Length < 64 || data[0] != 0x7f || data[1] != (byte)'E' || data[2] != (byte)'L' || data[3] != (byte)'F')
                throw Bad("missing ELF magic");
            if (data[4] != 2 || data[5] != 1) throw Bad("only 64-bit little-endian ELF is supported");

            long shoff = U64(0x28);
            int shentsize = U16(0x3A);
            int shnum = U16(0x3C);
            if (shentsize != 64 || shnum == 0) throw Bad("no section headers");
            var sections = new Section[shnum];
            for (int i = 0; i < shnum; i++)
            {
                long h = shoff + (long)i * shentsize;
                var s = new Section(U32(h + 4), U64(h + 24), U64(h + 32), U32(h + 40), U32(h + 44), U64(h + 56));
                if (s.Type != 8 /* SHT_NOBITS */ && (s.Offset < 0 || s.Size < 0 || s.Offset + s.Size > data.Length))
                    throw Bad($"section {i} lies outside the file");
                sections[i] = s;
            }

            Section Linked(Section s) => s.Link < sections.Length ? sections[s.Link] : throw Bad("bad section link");

            var defined = new List<string>();
            foreach (var verdef in sections.Where(s => s.Type == ShtGnuVerdef))
            {
                var strtab = Linked(verdef);
                long at = verdef.Offset;
                for (uint n = 0; n < verdef.Info; n++)
                {
                    uint aux = U32(at + 12), next = U32(at + 16);
                    if (U16(at + 6) > 0) defined.Add(CString(strtab, U32(at + aux)));
                    if (next == 0) break;
                    at += next;
                }
            }

            // Symbol name per version index, from the dynamic symbol table and its parallel .gnu.version array.
            var symbolsByIndex = new Dictionary<int, List<string>>();
            var versioned = new List<(string, int, long)>();
            var dynsym = sections.FirstOrDefault(s => s.Type == ShtDynsym);
            var versym = sections.FirstOrDefault(s => s.Type == ShtGnuVersym);
            if (dynsym.Type == ShtDynsym && versym.Type == ShtGnuVersym)
            {
                var dynstr = Linked(dynsym);
                long count = dynsym.Size / 24;
                if (versym.Size / 2 < count) throw Bad(".gnu.version shorter than .dynsym");
                for (long i = 0; i < count; i++)
                {
                    int index = U16(versym.Offset + 2 * i) & 0x7fff;
                    if (index < 2) continue; // 0 = local, 1 = global unversioned
                    string symbol = CString(dynstr, U32(dynsym.Offset + 24 * i));
                    versioned.Add((symbol, index, versym.Offset + 2 * i));
                    if (!symbolsByIndex.TryGetValue(index, out var list)) symbolsByIndex[index] = list = [];
                    list.Add(symbol);
                }
            }

            var needed = new List<ElfVersionNeed>();
            foreach (var verneed in sections.Where(s => s.Type == ShtGnuVerneed))
            {
                var strtab = Linked(verneed);
                long at = verneed.Offset;
                for (uint n = 0; n < verneed.Info; n++)
                {
                    int cnt = U16(at + 2);
                    string file = CString(strtab, U32(at + 4));
                    long auxAt = at + U32(at + 8);
                    for (int k = 0; k < cnt; k++)
                    {
                        ushort flags = U16(auxAt + 4);
                        int index = U16(auxAt + 6) & 0x7fff;
                        string version = CString(strtab, U32(auxAt + 8));
                        needed.Add(new ElfVersionNeed(file, version, index, auxAt + 4, (flags & VerFlagWeak) != 0,
                            symbolsByIndex.TryGetValue(index, out var syms) ? syms : []));
                        uint auxNext = U32(auxAt + 12);
                        if (auxNext == 0) break;
                        auxAt += auxNext;
                    }
                    uint next = U32(at + 12);
                    if (next == 0) break;
                    at += next;
                }
            }

            var libraries = new List<string>();
            foreach (var dynamic in sections.Where(s => s.Type == ShtDynamic))
            {
                var strtab = Linked(dynamic);
                for (long at = dynamic.Offset; at + 16 <= dynamic.Offset + dynamic.Size; at += 16)
                {
                    long tag = U64(at);
                    if (tag == 0) break; // DT_NULL
                    if (tag == 1) libraries.Add(CString(strtab, U64(at + 8))); // DT_NEEDED
                }
            }

            return new ElfSymbolVersions(needed, defined, libraries, versioned);
        }
    }
}
