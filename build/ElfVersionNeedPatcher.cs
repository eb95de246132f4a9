#nullable enable
// Compiled twice: as an MSBuild inline task (build/TorchSharpNative.targets) and, with SELORA_NO_MSBUILD_TASK,
// into tests that check the patch on the real libLibTorchSharp.so. Keep it free of other dependencies.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace SeLoRA.Build
{
    public enum VersionNeedPatch { Patched, AlreadyWeak, NotReferenced }

    /// <summary>
    /// Marks one version-need entry (.gnu.version_r) of an ELF64 little-endian shared object as VER_FLG_WEAK,
    /// so the loader tolerates a system library that lacks that version instead of refusing to load.
    /// </summary>
    public static class ElfVersionNeed
    {
        public const ushort VerFlagWeak = 0x2;
        const uint ShtGnuVerneed = 0x6ffffffe;

        public static readonly string[] LibStdCxxCandidates =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6",
            "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
            "/usr/lib/libstdc++.so.6",
        };

        /// <summary>The first system libstdc++ found, or null.</summary>
        public static string? FindSystemLibStdCxx()
        {
            foreach (var candidate in LibStdCxxCandidates)
                if (File.Exists(candidate)) return candidate;
            return null;
        }

        /// <summary>Whether a library defines a symbol version, by looking for its NUL-terminated name in the file.</summary>
        public static bool DefinesVersion(string libraryPath, string version)
        {
            var needle = Encoding.ASCII.GetBytes(version + "\0");
            var bytes = File.ReadAllBytes(libraryPath);
            return IndexOf(bytes, needle) >= 0;
        }

        /// <summary>The version-need names an ELF file lists, with their flags.</summary>
        public static List<KeyValuePair<string, ushort>> ListVersionNeeds(byte[] elf)
        {
            var result = new List<KeyValuePair<string, ushort>>();
            Walk(elf, (name, flagsOffset) => result.Add(new KeyValuePair<string, ushort>(name, BitConverter.ToUInt16(elf, flagsOffset))));
            return result;
        }

        /// <summary>Sets VER_FLG_WEAK on the need for <paramref name="version"/> in memory. Idempotent.</summary>
        public static VersionNeedPatch MarkWeak(byte[] elf, string version)
        {
            var outcome = VersionNeedPatch.NotReferenced;
            Walk(elf, (name, flagsOffset) =>
            {
                if (name != version) return;
                var flags = BitConverter.ToUInt16(elf, flagsOffset);
                if ((flags & VerFlagWeak) != 0)
                {
                    if (outcome == VersionNeedPatch.NotReferenced) outcome = VersionNeedPatch.AlreadyWeak;
                    return;
                }
                var patched = BitConverter.GetBytes((ushort)(flags | VerFlagWeak));
                elf[flagsOffset] = patched[0];
                elf[flagsOffset + 1] = patched[1];
                outcome = VersionNeedPatch.Patched;
            });
            return outcome;
        }

        /// <summary>Patches a file in place through a temporary copy, so a crash never leaves half a library.</summary>
        public static VersionNeedPatch MarkWeak(string path, string version)
        {
            var elf = File.ReadAllBytes(path);
            var outcome = MarkWeak(elf, version);
            if (outcome != VersionNeedPatch.Patched) return outcome;
            var temp = path + ".weak-tmp";
            File.WriteAllBytes(temp, elf);
            File.Copy(temp, path, overwrite: true);
            File.Delete(temp);
            return outcome;
        }

        static void Walk(byte[] elf, Action<string, int> visit)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                throw new InvalidDataException("not an ELF file");
            if (elf[4] != 2 || elf[5] != 1)
                throw new InvalidDataException("only 64-bit little-endian ELF files are supported");
            var shoff = checked((int)BitConverter.ToUInt64(elf, 0x28));
            int shentsize = BitConverter.ToUInt16(elf, 0x3A);
            int shnum = BitConverter.ToUInt16(elf, 0x3C);
            for (var i = 0; i < shnum; i++)
            {
                var sh = shoff + i * shentsize;
                if (BitConverter.ToUInt32(elf, sh + 4) != ShtGnuVerneed) continue;
                var offset = checked((int)BitConverter.ToUInt64(elf, sh + 24));
                var link = (int)BitConverter.ToUInt32(elf, sh + 40);
                var count = (int)BitConverter.ToUInt32(elf, sh + 44);
                var strtab = checked((int)BitConverter.ToUInt64(elf, shoff + link * shentsize + 24));
                var vn = offset;
                for (var j = 0; j < count; j++)
                {
                    int auxCount = BitConverter.ToUInt16(elf, vn + 2);
                    var aux = vn + (int)BitConverter.ToUInt32(elf, vn + 8);
                    for (var k = 0; k < auxCount; k++)
                    {
                        var name = ReadCString(elf, strtab + (int)BitConverter.ToUInt32(elf, aux + 8));
                        visit(name, aux + 4);
                        aux += (int)BitConverter.ToUInt32(elf, aux + 12);
                    }
                    vn += (int)BitConverter.ToUInt32(elf, vn + 12);
                }
            }
        }

        static string ReadCString(byte[] bytes, int start)
        {
            var end = start;
            while (bytes[end] != 0) end++;
            return Encoding.ASCII.GetString(bytes, start, end - start);
        }

        static int IndexOf(byte[] haystack, byte[] needle)
        {
            for (var i = 0; i <= haystack.Length - needle.Length; i++)
            {
                var match = true;
                for (var j = 0; j < needle.Length && match; j++) match = haystack[i + j] == needle[j];
                if (match) return i;
            }
            return -1;
        }
    }

#if !SELORA_NO_MSBUILD_TASK
    /// <summary>MSBuild task: weakens the GLIBCXX need of TorchSharp's native library where the system libstdc++ lacks it.</summary>
    public class WeakenGlibcxxVersionNeed : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Libraries { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        [Microsoft.Build.Framework.Required]
        public string Version { get; set; } = "";

        public override bool Execute()
        {
            if (Libraries.Length == 0) return true;
            var system = ElfVersionNeed.FindSystemLibStdCxx();
            if (system == null)
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, "No system libstdc++ found; leaving TorchSharp's native library as shipped.");
                return true;
            }
            if (ElfVersionNeed.DefinesVersion(system, Version))
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, system + " has " + Version + "; no patch needed.");
                return true;
            }
            foreach (var item in Libraries)
            {
                var outcome = ElfVersionNeed.MarkWeak(item.ItemSpec, Version);
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal,
                    "libstdc++ fix (" + system + " lacks " + Version + "): " + item.ItemSpec + ": " + outcome);
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
