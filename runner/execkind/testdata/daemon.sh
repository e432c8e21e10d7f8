# Succeeds but leaves a background process holding stdout open.
sleep 300 &
echo "OUTPUT: {\"pid\": $!}"
