using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Microscope.Onnx.Proto;
using DataType = Microscope.Onnx.Proto.TensorProto.Types.DataType;

namespace Microscope.Onnx;

/// <summary>Reading and making ONNX tensors (initializers and Constant values).</summary>
public static class Tensors
{
    public static long[] Shape(TensorProto t) => [.. t.Dims];

    public static long ElementCount(TensorProto t)
    {
        long n = 1;
        foreach (var d in t.Dims)
        {
            n *= d;
        }

        return n;
    }

    /// <summary>The values of a numeric tensor as doubles, whatever its storage.</summary>
    public static double[] ToDoubles(TensorProto t)
    {
        var type = (DataType)t.DataType;
        var count = checked((int)ElementCount(t));
        if (!t.RawData.IsEmpty)
        {
            var raw = t.RawData.Span;
            var result = new double[count];
            for (var i = 0; i < count; i++)
            {
                result[i] = type switch
                {
                    DataType.Float => BinaryPrimitives.ReadSingleLittleEndian(raw[(i * 4)..]),
                    DataType.Double => BinaryPrimitives.ReadDoubleLittleEndian(raw[(i * 8)..]),
                    DataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(raw[(i * 8)..]),
                    DataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(raw[(i * 4)..]),
                    DataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(raw[(i * 2)..]),
                    DataType.Uint16 => BinaryPrimitives.ReadUInt16LittleEndian(raw[(i * 2)..]),
                    DataType.Int8 => (sbyte)raw[i],
                    DataType.Uint8 or DataType.Bool => raw[i],
                    DataType.Uint32 => BinaryPrimitives.ReadUInt32LittleEndian(raw[(i * 4)..]),
                    DataType.Uint64 => BinaryPrimitives.ReadUInt64LittleEndian(raw[(i * 8)..]),
                    DataType.Float16 => (double)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(raw[(i * 2)..])),
                    _ => throw new ModelFormatException($"tensor '{t.Name}' has data type {type}, which cannot be read as numbers."),
                };
            }

            return result;
        }

        return type switch
        {
            DataType.Float => t.FloatData.Select(v => (double)v).ToArray(),
            DataType.Double => [.. t.DoubleData],
            DataType.Int64 => t.Int64Data.Select(v => (double)v).ToArray(),
            DataType.Int32 or DataType.Int16 or DataType.Int8 or DataType.Uint8 or DataType.Uint16 or DataType.Bool => t.Int32Data.Select(v => (double)v).ToArray(),
            DataType.Float16 => t.Int32Data.Select(v => (double)BitConverter.UInt16BitsToHalf((ushort)v)).ToArray(),
            DataType.Uint32 or DataType.Uint64 => t.Uint64Data.Select(v => (double)v).ToArray(),
            _ => throw new ModelFormatException($"tensor '{t.Name}' has data type {type}, which cannot be read as numbers."),
        };
    }

    public static float[] ToFloats(TensorProto t) => ToDoubles(t).Select(v => (float)v).ToArray();

    public static long[] ToInt64s(TensorProto t) => ToDoubles(t).Select(v => (long)v).ToArray();

    public static TensorProto Float(string name, ReadOnlySpan<long> dims, ReadOnlySpan<float> values)
    {
        var t = new TensorProto { Name = name, DataType = (int)DataType.Float };
        t.Dims.Add(dims.ToArray());
        t.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values));
        return t;
    }

    public static TensorProto Double(string name, ReadOnlySpan<long> dims, ReadOnlySpan<double> values)
    {
        var t = new TensorProto { Name = name, DataType = (int)DataType.Double };
        t.Dims.Add(dims.ToArray());
        t.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values));
        return t;
    }

    public static TensorProto Int64(string name, ReadOnlySpan<long> dims, ReadOnlySpan<long> values)
    {
        var t = new TensorProto { Name = name, DataType = (int)DataType.Int64 };
        t.Dims.Add(dims.ToArray());
        t.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values));
        return t;
    }

    public static TensorProto Int64Vector(string name, params long[] values) => Int64(name, [values.Length], values);

    /// <summary>A tensor of <paramref name="type"/> holding values converted from doubles.</summary>
    public static TensorProto OfType(DataType type, string name, ReadOnlySpan<long> dims, double[] values) => type switch
    {
        DataType.Float => Float(name, dims, values.Select(v => (float)v).ToArray()),
        DataType.Double => Double(name, dims, values),
        DataType.Int64 => Int64(name, dims, values.Select(v => (long)v).ToArray()),
        _ => throw new ModelFormatException($"cannot make a constant tensor of type {type}."),
    };
}
