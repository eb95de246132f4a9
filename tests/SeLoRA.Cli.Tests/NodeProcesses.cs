using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace SeLoRA.Cli.Tests;

/// <summary>`selora` processes a test starts and must not leave behind, and free loopback ports for them.</summary>
public sealed class NodeProcesses(string workingDirectory) : IDisposable
{
    readonly List<Process> processes = [];

    /// <summary>Starts `selora args...`; its output is read by the caller (or drained with <see cref="StartDrained"/>).</summary>
    public Process Start(params string[] args)
    {
        var p = SeloraProcess.Start(workingDirectory, null, args);
        processes.Add(p);
        return p;
    }

    /// <summary>Starts a process whose output nobody reads (drained so it never blocks on a full pipe).</summary>
    public Process StartDrained(params string[] args)
    {
        var p = Start(args);
        _ = p.StandardOutput.ReadToEndAsync();
        _ = p.StandardError.ReadToEndAsync();
        return p;
    }

    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public void Dispose()
    {
        foreach (var p in processes)
        {
            try
            {
                if (!p.HasExited) p.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }
            p.Dispose();
        }
    }
}
