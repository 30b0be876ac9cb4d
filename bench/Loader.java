// Bulk loader for the bench: "key<TAB>value" lines on stdin → one Kafka record each.
//
// Why Java: kafka-python computes CRC32C in pure Python unless the optional C extension is
// installed, which caps its producer at ~7k records/s of 1 kB here; loading a million records
// would take most of the bench's 15 minutes. Only the *loading* uses this; everything measured
// uses kafka-python. Run as a single-file program (java -cp KAFKA_LIBS/* Loader.java ...).
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

public class Loader {
    public static void main(String[] args) throws IOException {
        Properties props = new Properties();
        props.put("bootstrap.servers", args[0]);
        props.put("acks", "1");
        props.put("linger.ms", "20");
        props.put("batch.size", String.valueOf(512 * 1024));
        props.put("max.request.size", String.valueOf(4 * 1024 * 1024));
        props.put("client.id", "bench-loader");
        props.put("key.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
        props.put("value.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
        String topic = args[1];
        long sent = 0;
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
            InputStream in = new BufferedInputStream(System.in, 1 << 20);
            ByteArrayOutputStream line = new ByteArrayOutputStream(4096);
            int b;
            while ((b = in.read()) != -1) {
                if (b != '\n') {
                    line.write(b);
                    continue;
                }
                byte[] bytes = line.toByteArray();
                line.reset();
                int tab = 0;
                while (tab < bytes.length && bytes[tab] != '\t') tab++;
                byte[] key = tab == 0 ? null : Arrays.copyOfRange(bytes, 0, tab);
                byte[] value = Arrays.copyOfRange(bytes, Math.min(tab + 1, bytes.length), bytes.length);
                producer.send(new ProducerRecord<>(topic, key, value), (meta, error) -> {
                    if (error != null) {
                        System.err.println("send failed: " + error);
                        System.exit(1);
                    }
                });
                sent++;
            }
            producer.flush();
        }
        System.out.println(sent);
    }
}
